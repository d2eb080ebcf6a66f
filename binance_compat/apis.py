"""Binance's signed spot endpoints under /api/v3: parse, call the trading and accounts services
and selectors (the same ones /api/v1 calls), answer in Binance's shapes. No rules here.

Throttles, permissions and the guards of order writes are the native API's
(``trading.apis.OrderWritesApi``, ``order_writer``); only the dialect differs. These views are
left out of the /api/v1 OpenAPI schema (``schema = None``): docs/binance-compat.md documents
them.
"""

from __future__ import annotations

import time
from typing import Any

from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey
from accounts.permissions import HasKeyPermission, caller
from accounts.serializers import balance_out
from binance_compat import errors, formats, selectors, services
from binance_compat.auth import BinanceAuthentication, params_of
from binance_compat.errors import BinanceError
from binance_compat.order_input import NEW_ORDER_PARAMS, client_id, new_order
from binance_compat.params import Params
from binance_compat.symbols import symbols
from common.errors import DomainError, NotFound, RateLimited, Unauthenticated
from trading import services as trading_services
from trading.apis import OrderWritesApi, order_writer
from trading.orders import OrderRequest
from trading.services import OrderRejected, OrderWriter


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class BinanceApi(APIView):
    """A signed Binance endpoint: Binance's authentication and error bodies, our permissions."""

    schema = None  # not part of /api/v1's OpenAPI schema
    authentication_classes = [BinanceAuthentication]
    permission_classes = [HasKeyPermission]
    parser_classes: list[Any] = []  # parameters are read by binance_compat.params
    security = "signed"

    def get_exception_handler(self) -> Any:
        return errors.exception_handler

    def permission_denied(  # type: ignore[override]
        self, request: Request, message: Any = None, code: Any = None
    ) -> None:
        if request.authenticators and not request.successful_authenticator:
            raise NotAuthenticated()
        raise BinanceError(-2015, errors.BAD_KEY, 401)


class BinanceOrderWrites(BinanceApi, OrderWritesApi):
    """POST/DELETE send matcher commands: counted against the ``orders`` throttle in the
    command's own round trip, the key's revocation checked there too (trading.apis)."""

    order_writes = True


def _key(request: Request) -> ApiKey:
    auth = request.auth
    if not isinstance(auth, ApiKey):  # unreachable behind BinanceAuthentication
        raise BinanceError(-2014, "API-key format invalid.", 401)
    return auth


def _order_ref(
    params: Params, id_name: str = "orderId", client_name: str = "origClientOrderId"
) -> tuple[int | None, str | None]:
    order_id = params.long(id_name)
    orig = client_id(params, client_name)
    if order_id is None and orig is None:
        raise BinanceError(
            -1102, f"Param '{client_name}' or '{id_name}' must be sent, but both were empty/null!"
        )
    return order_id, orig


def _placed_reply(order: dict[str, Any], symbol: str, resp_type: str) -> dict[str, Any]:
    if resp_type == "ACK":
        return formats.order_ack(order, symbol)
    if resp_type == "RESULT":
        return formats.order_result(order, symbol)
    return formats.order_full(order, symbol)


def place(writer: OrderWriter, req: OrderRequest) -> dict[str, Any]:
    """Send the order (trading.services.order_place); a fill-or-kill that could not fill is
    answered as the order, EXPIRED, as Binance does, instead of an error."""
    try:
        order, _ = trading_services.order_place(writer, req)
    except OrderRejected as exc:
        if exc.code != "fok_not_fillable":
            raise
        order = exc.details["order"]
    return order


class OrderApi(BinanceOrderWrites):
    def post(self, request: Request) -> Response:
        with order_writer(request) as writer:
            params = params_of(request)
            params.allow(NEW_ORDER_PARAMS)
            symbol, native = params.symbol()  # type: ignore[misc]
            req, resp_type = new_order(params, native)
            placed = place(writer, req)
        return Response(_placed_reply(placed, symbol, resp_type))

    def get(self, request: Request) -> Response:
        params = params_of(request)
        symbol, native = params.symbol()  # type: ignore[misc]
        order_id, orig = _order_ref(params)
        try:
            order = selectors.order(
                caller(request).pk, native, order_id, None if order_id is not None else orig
            )
        except NotFound:
            raise BinanceError(-2013, errors.NO_SUCH_ORDER) from None
        if orig is not None and order_id is not None and order.get("client_order_id") != orig:
            raise BinanceError(-2013, errors.NO_SUCH_ORDER)
        return Response(formats.order_query(order, symbol))

    def delete(self, request: Request) -> Response:
        with order_writer(request) as writer:
            params = params_of(request)
            params.allow(("symbol", "orderId", "origClientOrderId", "newClientOrderId"))
            symbol, native = params.symbol()  # type: ignore[misc]
            order_id, orig = _order_ref(params)
            cancel_id = client_id(params, "newClientOrderId")
            cancelled = cancel_one(writer, symbol, native, order_id, orig, cancel_id)
        return Response(cancelled)


def cancel_one(
    writer: OrderWriter,
    symbol: str,
    native: str,
    order_id: int | None,
    orig: str | None,
    cancel_id: str | None,
) -> dict[str, Any]:
    user_id = writer.user_id
    if order_id is not None and orig is not None:
        # Both given: the order found by id must carry that client id (Binance's rule).
        try:
            found = selectors.order(user_id, native, order_id, None)
        except NotFound:
            found = None
        if found is None or found.get("client_order_id") != orig:
            raise BinanceError(-2011, errors.UNKNOWN_ORDER)
    try:
        order = trading_services.order_cancel(
            writer,
            native,
            order_id=order_id,
            client_order_id=None if order_id is not None else orig,
        )
    except NotFound:
        raise BinanceError(-2011, errors.UNKNOWN_ORDER) from None
    if order is None:
        return formats.cancel_pending(order_id, orig, symbol, now_ms())
    return formats.order_cancelled(order, symbol, cancel_id)


class OrderTestApi(BinanceApi):
    """Validated like an order (grid, combination, minimum notional), never sent."""

    required_permissions = {"POST": "trade"}

    def post(self, request: Request) -> Response:
        params = params_of(request)
        params.allow((*NEW_ORDER_PARAMS, "computeCommissionRates"))
        _, native = params.symbol()  # type: ignore[misc]
        req, _ = new_order(params, native)
        compute = params.choice(
            "computeCommissionRates", ("true", "false"), -1130,
            "Data sent for parameter 'computeCommissionRates' is not valid.",
        )  # fmt: skip
        trading_services.order_check(req)
        if compute != "true":
            return Response({})
        return Response(_commission(native))


def _commission(native: str) -> dict[str, Any]:
    market = selectors.markets([native])[0]
    rates = {
        "maker": str(market.maker_fee_rate.normalize()),
        "taker": str(market.taker_fee_rate.normalize()),
    }
    return {
        "standardCommissionForOrder": rates,
        "taxCommissionForOrder": {"maker": "0", "taker": "0"},
        "discount": {
            "enabledForAccount": False,
            "enabledForSymbol": False,
            "discountAsset": None,
            "discount": "0",
        },
    }


class OpenOrdersApi(BinanceOrderWrites):
    def get(self, request: Request) -> Response:
        params = params_of(request)
        found = params.symbol(required=False)
        native = found[1] if found else None
        orders = selectors.open_orders(caller(request).pk, native)
        return Response([_query(o) for o in orders])

    def delete(self, request: Request) -> Response:
        with order_writer(request) as writer:
            params = params_of(request)
            params.allow(("symbol",))
            symbol, native = params.symbol()  # type: ignore[misc]
            cancelled, _ = trading_services.order_cancel_all(writer, native)
            if not cancelled:
                raise BinanceError(-2011, errors.UNKNOWN_ORDER)
        return Response([formats.order_cancelled(o, symbol, None) for o in cancelled])


def _query(order: dict[str, Any]) -> dict[str, Any]:
    return formats.order_query(order, symbols.binance(order["symbol"]))


class AllOrdersApi(BinanceApi):
    def get(self, request: Request) -> Response:
        params = params_of(request)
        symbol, native = params.symbol()  # type: ignore[misc]
        orders = selectors.all_orders(
            caller(request).pk,
            native,
            from_order_id=params.long("orderId"),
            start_ms=params.long("startTime"),
            end_ms=params.long("endTime"),
            limit=params.limit(500, 1000),
        )
        return Response([formats.order_query(o, symbol) for o in orders])


class MyTradesApi(BinanceApi):
    def get(self, request: Request) -> Response:
        params = params_of(request)
        symbol, native = params.symbol()  # type: ignore[misc]
        trades = selectors.my_trades(
            caller(request).pk,
            native,
            order_id=params.long("orderId"),
            from_id=params.long("fromId"),
            start_ms=params.long("startTime"),
            end_ms=params.long("endTime"),
            limit=params.limit(500, 1000),
        )
        return Response([formats.my_trade(t, symbol) for t in trades])


class AccountApi(BinanceApi):
    def get(self, request: Request) -> Response:
        params = params_of(request)
        omit_zero = params.choice(
            "omitZeroBalances", ("true", "false"), -1130,
            "Data sent for parameter 'omitZeroBalances' is not valid.",
        ) == "true"  # fmt: skip
        key = _key(request)
        balances = []
        for row in selectors.balances(caller(request)):
            out = balance_out(row)
            if omit_zero and not (row.available or row.locked):
                continue
            balances.append(
                {"asset": out["asset"], "free": out["available"], "locked": out["locked"]}
            )
        return Response(
            {
                # Fees are per market here: GET /api/v3/account/commission?symbol= gives them.
                "makerCommission": 0,
                "takerCommission": 0,
                "buyerCommission": 0,
                "sellerCommission": 0,
                "commissionRates": {"maker": "0", "taker": "0", "buyer": "0", "seller": "0"},
                "canTrade": key.perm_trade,
                "canWithdraw": key.perm_withdraw,
                "canDeposit": key.perm_trade,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "preventSor": False,
                "updateTime": now_ms(),
                "accountType": "SPOT",
                "balances": balances,
                "permissions": ["SPOT"],
                "uid": caller(request).pk,
            }
        )


class CommissionApi(BinanceApi):
    def get(self, request: Request) -> Response:
        symbol, native = params_of(request).symbol()  # type: ignore[misc]
        rates = _commission(native)["standardCommissionForOrder"]
        return Response(
            {
                "symbol": symbol,
                "standardCommission": {**rates, "buyer": "0", "seller": "0"},
                "specialCommission": {"maker": "0", "taker": "0", "buyer": "0", "seller": "0"},
                "taxCommission": {"maker": "0", "taker": "0", "buyer": "0", "seller": "0"},
                "discount": {
                    "enabledForAccount": False,
                    "enabledForSymbol": False,
                    "discountAsset": None,
                    "discount": "0",
                },
            }
        )


CANCEL_REPLACE_PARAMS = (
    *NEW_ORDER_PARAMS, "cancelReplaceMode", "cancelNewClientOrderId", "cancelOrigClientOrderId",
    "cancelOrderId",
)  # fmt: skip


class CancelReplaceApi(BinanceOrderWrites):
    """Cancel an open order, then place a new one: two commands in a row through the same
    services (the engine's amend keeps the order id, Binance's cancel-replace makes a new
    order, so it is built from a cancel and a placement; another command may come between
    them). ``STOP_ON_FAILURE``: no placement if the cancel failed; ``ALLOW_FAILURE``: place
    anyway. Outcomes and status codes as Binance: 200 both, 409 -2021 one of them, 400 -2022
    neither."""

    def post(self, request: Request) -> Response:
        with order_writer(request) as writer:
            return _cancel_replace(writer, params_of(request))


def _cancel_replace(writer: OrderWriter, params: Params) -> Response:
    params.allow(CANCEL_REPLACE_PARAMS)
    symbol, native = params.symbol()  # type: ignore[misc]
    mode = params.text("cancelReplaceMode", required=True)
    if mode not in ("STOP_ON_FAILURE", "ALLOW_FAILURE"):
        raise BinanceError(-1130, "Data sent for parameter 'cancelReplaceMode' is not valid.")
    order_id, orig = _order_ref(params, "cancelOrderId", "cancelOrigClientOrderId")
    cancel_id = client_id(params, "cancelNewClientOrderId")
    req, resp_type = new_order(params, native)  # the whole request is checked first

    cancel: dict[str, Any] | None = None
    cancel_error: BinanceError | None = None
    try:
        cancel = cancel_one(writer, symbol, native, order_id, orig, cancel_id)
    except BinanceError as exc:
        cancel_error = exc
    except (RateLimited, Unauthenticated):
        raise  # the request's own guards refuse the whole request, not its cancel
    except DomainError as exc:
        cancel_error = errors.from_domain(exc)
    if cancel_error is not None and mode == "STOP_ON_FAILURE":
        return _cancel_replace_failed(cancel_error, None, "NOT_ATTEMPTED")

    placed: dict[str, Any] | None = None
    place_error: BinanceError | None = None
    try:
        placed = _placed_reply(place(writer, req), symbol, resp_type)
    except BinanceError as exc:
        place_error = exc
    except (RateLimited, Unauthenticated):
        raise
    except DomainError as exc:
        place_error = errors.from_domain(exc)

    if cancel_error is None and place_error is None:
        return Response(
            {
                "cancelResult": "SUCCESS",
                "newOrderResult": "SUCCESS",
                "cancelResponse": cancel,
                "newOrderResponse": placed,
            }
        )
    data = {
        "cancelResult": "FAILURE" if cancel_error else "SUCCESS",
        "newOrderResult": "FAILURE" if place_error else "SUCCESS",
        "cancelResponse": _error_body(cancel_error) if cancel_error else cancel,
        "newOrderResponse": _error_body(place_error) if place_error else placed,
    }
    if cancel_error and place_error:
        return Response(
            {"code": -2022, "msg": "Order cancel-replace failed.", "data": data}, status=400
        )
    return Response(
        {"code": -2021, "msg": "Order cancel-replace partially failed.", "data": data},
        status=409,
    )


def _error_body(exc: BinanceError) -> dict[str, Any]:
    return {"code": exc.code, "msg": exc.msg}


def _cancel_replace_failed(cancel_error: BinanceError, _: Any, new_result: str) -> Response:
    return Response(
        {
            "code": -2022,
            "msg": "Order cancel-replace failed.",
            "data": {
                "cancelResult": "FAILURE",
                "newOrderResult": new_result,
                "cancelResponse": _error_body(cancel_error),
                "newOrderResponse": None,
            },
        },
        status=400,
    )


class UserDataStreamApi(BinanceApi):
    """Listen keys: the API key alone (Binance's USER_STREAM security), with ``read``."""

    security = "user_stream"
    required_permissions = {"POST": "read", "PUT": "read", "DELETE": "read"}

    def post(self, request: Request) -> Response:
        return Response({"listenKey": services.listen_key_open(_key(request))})

    def put(self, request: Request) -> Response:
        key = params_of(request).text("listenKey", required=True) or ""
        if not services.listen_key_keepalive(key, _key(request)):
            raise BinanceError(-1125, "This listenKey does not exist.")
        return Response({})

    def delete(self, request: Request) -> Response:
        key = params_of(request).text("listenKey", required=True) or ""
        if not services.listen_key_close(key, _key(request)):
            raise BinanceError(-1125, "This listenKey does not exist.")
        return Response({})
