"""The accounts API: sign-up, API keys, who-am-I, assets, balances, deposits, withdrawals and
the ledger.

API keys are managed only with the password (HTTP Basic) or a logged-in session, never with an
API key: a leaked read-only key must not be able to mint a withdraw key.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from accounts import selectors, services, withdrawals
from accounts.authentication import PasswordAuthentication, key_permissions
from accounts.permissions import caller
from accounts.serializers import (
    AccountOutputSerializer,
    ApiKeyCreatedOutputSerializer,
    ApiKeyCreateInputSerializer,
    ApiKeyOutputSerializer,
    AssetOutputSerializer,
    BalanceOutputSerializer,
    DepositHistoryOutputSerializer,
    DepositHistoryQuerySerializer,
    DepositInputSerializer,
    DepositOutputSerializer,
    LedgerOutputSerializer,
    LedgerQuerySerializer,
    UserCreatedOutputSerializer,
    UserCreateInputSerializer,
    WithdrawalHistoryOutputSerializer,
    WithdrawalHistoryQuerySerializer,
    WithdrawalOutputSerializer,
    WithdrawInputSerializer,
    api_key_out,
    asset_out,
    balance_out,
    deposit_out,
    ledger_out,
    withdrawal_brief,
    withdrawal_out,
)
from accounts.throttling import SignupThrottle
from common.clock import MAX_MS, ms_to_datetime
from common.errors import ValidationFailed
from common.pagination import NewestFirst

# (every operation's common refusals, with the error body: exchange_site/schema.py)
ERRORS: dict[int, OpenApiResponse] = {}
# A private read waits until the database is current (accounts.selectors.await_recorded).
WRITES_NOT_PERSISTED = OpenApiResponse(
    description="writes_not_persisted: your latest writes are applied but not recorded yet "
    "(the persister is behind); retry after Retry-After."
)
READ_ERRORS = {**ERRORS, 503: WRITES_NOT_PERSISTED}
SECOND_FACTOR = {
    403: OpenApiResponse(
        description="totp_required (two-factor authentication is on and no code was given), "
        "invalid_totp (wrong or expired code), totp_reused (a code already used), "
        "missing_permission"
    ),
    429: OpenApiResponse(description="throttled: too many wrong codes; see Retry-After."),
}


def body(serializer_class: type[Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    if not serializer.is_valid():
        raise ValidationFailed("The request is invalid.", details=serializer.errors)
    return dict(serializer.validated_data)


class UserCreateApi(APIView):
    """Sign up. Public, throttled per client address ("signup" scope)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [SignupThrottle]

    @extend_schema(
        operation_id="users_create",
        auth=[],
        request=UserCreateInputSerializer,
        responses={
            201: UserCreatedOutputSerializer,
            409: OpenApiResponse(description="username_taken"),
            **ERRORS,
        },
    )
    def post(self, request: Request) -> Response:
        data = body(UserCreateInputSerializer, request)
        user = services.user_create(
            data["username"], password=data["password"], email=data["email"]
        )
        return Response({"user_id": user.pk, "username": user.username}, status=201)


# Key management: HTTP Basic (username + password) or the web session; never an API key. Basic
# comes first so an unauthenticated request gets 401 (with a Basic challenge), not 403.
PASSWORD_OR_SESSION = [PasswordAuthentication, SessionAuthentication]


class ApiKeyListCreateApi(APIView):
    authentication_classes = PASSWORD_OR_SESSION
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="api_keys_create",
        request=ApiKeyCreateInputSerializer,
        responses={201: ApiKeyCreatedOutputSerializer, **ERRORS, **SECOND_FACTOR},
    )
    def post(self, request: Request) -> Response:
        data = body(ApiKeyCreateInputSerializer, request)
        api_key, secret = services.api_key_create(
            caller(request), data["label"], data["permissions"], totp=data.get("totp")
        )
        return Response({**api_key_out(api_key), "api_secret": secret}, status=201)

    @extend_schema(
        operation_id="api_keys_list", responses={200: ApiKeyOutputSerializer(many=True), **ERRORS}
    )
    def get(self, request: Request) -> Response:
        keys = selectors.api_key_list(caller(request))
        return Response([api_key_out(k) for k in keys])


class ApiKeyRevokeApi(APIView):
    authentication_classes = PASSWORD_OR_SESSION
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="api_keys_revoke",
        responses={204: None, 404: OpenApiResponse(description="api_key_not_found"), **ERRORS},
    )
    def delete(self, request: Request, api_key: str) -> Response:
        services.api_key_revoke_by_id(caller(request), api_key)
        return Response(status=204)


class AccountApi(APIView):
    """Who am I: the trivial authenticated endpoint (the benchmark's baseline)."""

    @extend_schema(operation_id="account", responses={200: AccountOutputSerializer, **ERRORS})
    def get(self, request: Request) -> Response:
        user = caller(request)
        permissions = key_permissions(request.auth)
        return Response({"user_id": user.pk, "username": user.username, "permissions": permissions})


class AssetListApi(APIView):
    """Public: every active asset with its withdrawal policy."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="assets", auth=[], responses={200: AssetOutputSerializer(many=True)}
    )
    def get(self, request: Request) -> Response:
        return Response([asset_out(a) for a in selectors.asset_list()])


class BalanceListApi(APIView):
    @extend_schema(
        operation_id="user_balances",
        responses={200: BalanceOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        balances = selectors.balances_of(caller(request))
        return Response([balance_out(b) for b in balances])


class DepositCreateApi(APIView):
    required_permissions = {"POST": "trade"}

    @extend_schema(
        operation_id="user_deposit",
        request=DepositInputSerializer,
        responses={201: DepositOutputSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        data = body(DepositInputSerializer, request)
        asset = selectors.asset_for_transfer(data["asset"])
        deposit = services.deposit_request(caller(request), asset, data["amount"])
        return Response(DepositOutputSerializer(deposit).data, status=201)


class WithdrawCreateApi(APIView):
    required_permissions = {"POST": "withdraw"}

    @extend_schema(
        operation_id="user_withdraw",
        request=WithdrawInputSerializer,
        responses={
            201: WithdrawalOutputSerializer,
            202: OpenApiResponse(
                WithdrawalOutputSerializer, description="The hold is queued (matcher slow)."
            ),
            400: OpenApiResponse(description="invalid_amount, unknown_asset, insufficient_funds."),
            503: WRITES_NOT_PERSISTED,
            **ERRORS,
            **SECOND_FACTOR,
        },
    )
    def post(self, request: Request) -> Response:
        data = body(WithdrawInputSerializer, request)
        asset = selectors.asset_for_transfer(data["asset"])
        withdrawal, answered = withdrawals.request(
            caller(request), asset, data["amount"], data["address"], totp=data.get("totp")
        )
        return Response(withdrawal_brief(withdrawal), status=201 if answered else 202)


class WithdrawalCancelApi(APIView):
    """The caller takes back a withdrawal that is still pending (not approved yet)."""

    required_permissions = {"POST": "withdraw"}

    @extend_schema(
        operation_id="user_withdrawal_cancel",
        request=None,
        responses={
            200: WithdrawalHistoryOutputSerializer,
            404: OpenApiResponse(description="withdrawal_not_found"),
            409: OpenApiResponse(description="illegal_transition: not pending any more"),
            **ERRORS,
        },
    )
    def post(self, request: Request, withdrawal_id: int) -> Response:
        withdrawal = withdrawals.cancel(caller(request), withdrawal_id)
        return Response(withdrawal_out(withdrawal))


# --- Deposit and withdrawal history ---------------------------------------------------------------


def query(serializer_class: type[Serializer], request: Request) -> dict[str, Any]:
    """Validated query parameters; one given empty (``?asset=``) is refused, not taken as
    absent (as trading.apis.query does)."""
    params = request.query_params
    serializer = serializer_class(data=params)
    blank = {
        name: ["This parameter may not be empty; leave it out instead."]
        for name in list(serializer.fields)
        if params.get(str(name)) == ""
    }
    if blank:
        raise ValidationFailed("Invalid query parameters.", details=blank)
    if not serializer.is_valid():
        raise ValidationFailed("Invalid query parameters.", details=serializer.errors)
    return dict(serializer.validated_data)


class TransferPage(NewestFirst):
    ordering = ("-created_at", "-id")


class DepositHistoryApi(APIView):
    """The caller's deposits, newest first; filters ``asset`` and ``status``."""

    pagination_class = TransferPage

    @extend_schema(
        operation_id="user_deposits",
        parameters=[DepositHistoryQuerySerializer],
        responses={200: DepositHistoryOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        q = query(DepositHistoryQuerySerializer, request)
        asset = selectors.asset_for_query(q["asset"]) if "asset" in q else None
        rows = selectors.deposit_history(caller(request), asset=asset, status=q.get("status"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self) or []
        return paginator.get_paginated_response([deposit_out(d) for d in page])


class WithdrawalHistoryApi(APIView):
    """The caller's withdrawals, newest first; filters ``asset`` and ``status``."""

    pagination_class = TransferPage

    @extend_schema(
        operation_id="user_withdrawals",
        parameters=[WithdrawalHistoryQuerySerializer],
        responses={200: WithdrawalHistoryOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        q = query(WithdrawalHistoryQuerySerializer, request)
        asset = selectors.asset_for_query(q["asset"]) if "asset" in q else None
        rows = selectors.withdrawal_history(caller(request), asset=asset, status=q.get("status"))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self) or []
        return paginator.get_paginated_response([withdrawal_out(w) for w in page])


class LedgerPage(NewestFirst):
    ordering = ("-created_at", "-id")


class LedgerApi(APIView):
    """The caller's balance movements, newest first; filters ``asset``, ``start_time``,
    ``end_time`` (ms, inclusive)."""

    pagination_class = LedgerPage

    @extend_schema(
        operation_id="user_ledger",
        parameters=[LedgerQuerySerializer],
        responses={200: LedgerOutputSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        q = query(LedgerQuerySerializer, request)
        asset = selectors.asset_for_query(q["asset"]) if "asset" in q else None
        end = q.get("end_time")
        rows = selectors.ledger_history(
            caller(request),
            asset=asset,
            start=ms_to_datetime(q["start_time"]) if "start_time" in q else None,
            # inclusive to the millisecond; at the last one a datetime holds: no bound
            end=ms_to_datetime(end + 1) if end is not None and end < MAX_MS else None,
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(rows, request, view=self) or []
        refs = selectors.ledger_refs(page)
        return paginator.get_paginated_response([ledger_out(e, refs[e.cause]) for e in page])
