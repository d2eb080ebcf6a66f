"""Accounts API input and output."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.validators import UnicodeUsernameValidator
from rest_framework import serializers

from accounts.amounts import plain
from accounts.models import (
    ApiKey,
    Balance,
    Deposit,
    DepositStatus,
    Withdrawal,
    WithdrawalStatus,
)
from exchange_site.clock import datetime_to_ms
from exchange_site.serializers import DecimalString

MAX_NUMBER_CHARS = 40
ADDRESS_RE = r"^[\x21-\x7e]{1,128}$"  # printable ASCII, no spaces


def fixed(value: Decimal, decimals: int) -> str:
    """Exactly ``decimals`` places, no rounding (the value is whole atoms): "850.000000"."""
    whole, _, frac = plain(value).partition(".")
    return f"{whole}.{frac.ljust(decimals, '0')}" if decimals else whole


class MoneyString(DecimalString):
    """A decimal string of at most 40 ASCII characters; exactness is checked per asset later."""

    def to_internal_value(self, data: Any) -> Decimal:
        if (
            not isinstance(data, str)
            or not 0 < len(data) <= MAX_NUMBER_CHARS
            or not data.isascii()
            or "_" in data
            or data.strip() != data
        ):
            self.fail("invalid")
        try:
            value = Decimal(data)
        except InvalidOperation:
            self.fail("invalid")
        return value


# --- Users and API keys -------------------------------------------------------------------------


class UserCreateInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, validators=[UnicodeUsernameValidator()])
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    email = serializers.EmailField(max_length=254)


class UserCreatedOutputSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField()


class AccountOutputSerializer(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    permissions = serializers.ListField(child=serializers.CharField())


class ApiKeyCreateInputSerializer(serializers.Serializer):
    label = serializers.CharField(  # type: ignore[assignment]  # a field, not Field.label
        max_length=64, required=False, allow_blank=True, default=""
    )
    permissions = serializers.ListField(
        child=serializers.ChoiceField(choices=list(ApiKey.PERMISSIONS)),
        min_length=1,
        max_length=3,
        required=False,
        default=["read", "trade"],
    )


def api_key_out(api_key: ApiKey) -> dict[str, Any]:
    return {
        "api_key": api_key.key_id,
        "label": api_key.label,
        "permissions": api_key.permissions,
        "created_at": datetime_to_ms(api_key.created_at),
        "last_used_at": datetime_to_ms(api_key.last_used_at) if api_key.last_used_at else None,
    }


class ApiKeyOutputSerializer(serializers.Serializer):
    api_key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    permissions = serializers.ListField(child=serializers.CharField())
    created_at = serializers.IntegerField(help_text="Unix time, ms.")
    last_used_at = serializers.IntegerField(
        allow_null=True, help_text="Unix time, ms (updated at most once a minute)."
    )


class ApiKeyCreatedOutputSerializer(ApiKeyOutputSerializer):
    api_secret = serializers.CharField(help_text="Shown only in this response.")


# --- Balances and transfers ---------------------------------------------------------------------


def balance_out(balance: Balance) -> dict[str, str]:
    decimals = balance.asset.decimals
    return {
        "asset": balance.asset.code,
        "available": fixed(balance.available, decimals),
        "locked": fixed(balance.locked, decimals),
    }


class BalanceOutputSerializer(serializers.Serializer):
    asset = serializers.CharField()
    available = DecimalString()
    locked = DecimalString()


class DepositInputSerializer(serializers.Serializer):
    asset = serializers.CharField(max_length=16)
    amount = MoneyString()


class DepositOutputSerializer(serializers.Serializer):
    deposit_id = serializers.IntegerField(source="pk")
    asset = serializers.CharField(source="asset.code")
    amount = DecimalString()
    status = serializers.CharField()


class WithdrawInputSerializer(serializers.Serializer):
    asset = serializers.CharField(max_length=16)
    amount = MoneyString()
    address = serializers.RegexField(ADDRESS_RE, max_length=128)


class WithdrawalOutputSerializer(serializers.Serializer):
    withdrawal_id = serializers.IntegerField(source="pk")
    asset = serializers.CharField(source="asset.code")
    amount = DecimalString()
    address = serializers.CharField()
    status = serializers.CharField()


# --- Deposit and withdrawal history -------------------------------------------------------------


class TransferHistoryQuerySerializer(serializers.Serializer):
    asset = serializers.RegexField(r"^[A-Z0-9]{2,16}$", required=False)
    limit = serializers.IntegerField(
        min_value=1, max_value=500, required=False, help_text="Page size (default 100)."
    )
    cursor = serializers.CharField(required=False, help_text="From the previous page's next.")


class DepositHistoryQuerySerializer(TransferHistoryQuerySerializer):
    status = serializers.ChoiceField(choices=DepositStatus.values, required=False)


class WithdrawalHistoryQuerySerializer(TransferHistoryQuerySerializer):
    status = serializers.ChoiceField(choices=WithdrawalStatus.values, required=False)


def _ms(value: datetime | None) -> int | None:
    return None if value is None else datetime_to_ms(value)


def deposit_out(deposit: Deposit) -> dict[str, Any]:
    return {
        "deposit_id": deposit.pk,
        "asset": deposit.asset.code,
        "amount": plain(deposit.amount),
        "status": deposit.status,
        "created_at": datetime_to_ms(deposit.created_at),
        "updated_at": datetime_to_ms(deposit.updated_at),
        "credited_at": _ms(deposit.credited_at),
    }


def withdrawal_out(withdrawal: Withdrawal) -> dict[str, Any]:
    return {
        "withdrawal_id": withdrawal.pk,
        "asset": withdrawal.asset.code,
        "amount": plain(withdrawal.amount),
        "address": withdrawal.address,
        "status": withdrawal.status,
        "reason": withdrawal.reject_reason or None,
        "created_at": datetime_to_ms(withdrawal.created_at),
        "updated_at": datetime_to_ms(withdrawal.updated_at),
        "completed_at": _ms(withdrawal.completed_at),
    }


class DepositHistoryOutputSerializer(DepositOutputSerializer):
    created_at = serializers.IntegerField(help_text="Unix time, ms.")
    updated_at = serializers.IntegerField(help_text="Unix time, ms.")
    credited_at = serializers.IntegerField(allow_null=True, help_text="Unix time, ms.")


class WithdrawalHistoryOutputSerializer(WithdrawalOutputSerializer):
    reason = serializers.CharField(
        allow_null=True, help_text="Why it was rejected or failed (e.g. insufficient_funds)."
    )
    created_at = serializers.IntegerField(help_text="Unix time, ms.")
    updated_at = serializers.IntegerField(help_text="Unix time, ms.")
    completed_at = serializers.IntegerField(allow_null=True, help_text="Unix time, ms.")
