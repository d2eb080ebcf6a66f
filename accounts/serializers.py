"""Accounts API input and output."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.validators import UnicodeUsernameValidator
from rest_framework import serializers

from accounts.models import (
    ApiKey,
    Asset,
    Balance,
    Deposit,
    DepositStatus,
    LedgerEntry,
    LedgerReason,
    Withdrawal,
    WithdrawalStatus,
)
from common.amounts import plain
from common.clock import MAX_MS, datetime_to_ms
from common.serializers import DecimalString

MAX_NUMBER_CHARS = 40


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


TOTP_FIELD = serializers.CharField(
    max_length=32,
    required=False,
    allow_blank=True,
    help_text="The current code of your authenticator app; required when two-factor "
    "authentication is on.",
)


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
    totp = TOTP_FIELD


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
    address = serializers.CharField(max_length=128, trim_whitespace=False)
    totp = TOTP_FIELD


class WithdrawalOutputSerializer(serializers.Serializer):
    withdrawal_id = serializers.IntegerField(source="pk")
    asset = serializers.CharField(source="asset.code")
    amount = DecimalString()
    fee = DecimalString(help_text="Charged on top of the amount (held with it).")
    address = serializers.CharField()
    status = serializers.ChoiceField(choices=WithdrawalStatus.values)


def withdrawal_brief(withdrawal: Withdrawal) -> dict[str, Any]:
    return {
        "withdrawal_id": withdrawal.pk,
        "asset": withdrawal.asset.code,
        "amount": plain(withdrawal.amount),
        "fee": plain(withdrawal.fee),
        "address": withdrawal.address,
        "status": withdrawal.status,
    }


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
        **withdrawal_brief(withdrawal),
        "reason": withdrawal.reject_reason or None,
        "txid": withdrawal.txid or None,
        "created_at": datetime_to_ms(withdrawal.created_at),
        "updated_at": datetime_to_ms(withdrawal.updated_at),
        "approved_at": _ms(withdrawal.approved_at),
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
    txid = serializers.CharField(allow_null=True, help_text="The payout's transaction id.")
    created_at = serializers.IntegerField(help_text="Unix time, ms.")
    updated_at = serializers.IntegerField(help_text="Unix time, ms.")
    approved_at = serializers.IntegerField(allow_null=True, help_text="Unix time, ms.")
    completed_at = serializers.IntegerField(allow_null=True, help_text="Unix time, ms.")


# --- Assets -------------------------------------------------------------------------------------


def asset_out(asset: Asset) -> dict[str, Any]:
    return {
        "asset": asset.code,
        "name": asset.name,
        "decimals": asset.decimals,
        "address_format": asset.address_format,
        "withdrawal_min": plain(asset.withdrawal_min),
        "withdrawal_fee": plain(asset.withdrawal_fee),
        "withdrawal_auto_approve_max": plain(asset.withdrawal_auto_approve_max),
        "withdrawal_daily_limit": (
            None if asset.withdrawal_daily_limit is None else plain(asset.withdrawal_daily_limit)
        ),
    }


class AssetOutputSerializer(serializers.Serializer):
    asset = serializers.CharField()
    name = serializers.CharField()
    decimals = serializers.IntegerField()
    address_format = serializers.CharField(help_text="any, evm, bitcoin or solana.")
    withdrawal_min = DecimalString()
    withdrawal_fee = DecimalString(help_text="Charged on top of each withdrawal's amount.")
    withdrawal_auto_approve_max = DecimalString(
        help_text="Withdrawals up to this are approved at once; larger ones by an operator."
    )
    withdrawal_daily_limit = DecimalString(
        allow_null=True, help_text="Most a user may withdraw in any 24 hours; null: no limit."
    )


# --- Ledger -------------------------------------------------------------------------------------


class LedgerQuerySerializer(TransferHistoryQuerySerializer):
    # up to 9999-12-31T23:59:59.999Z: what a datetime holds
    start_time = serializers.IntegerField(
        min_value=0, max_value=MAX_MS, required=False, help_text="Unix time, ms, inclusive."
    )
    end_time = serializers.IntegerField(
        min_value=0, max_value=MAX_MS, required=False, help_text="Unix time, ms, inclusive."
    )


def ledger_out(entry: LedgerEntry, ref: dict[str, Any]) -> dict[str, Any]:
    d = entry.asset.decimals
    return {
        "entry_id": entry.pk,
        "asset": entry.asset.code,
        "reason": entry.reason,
        "cause": entry.cause,
        "ref": ref,
        "delta_available": plain(entry.delta_available),
        "delta_locked": plain(entry.delta_locked),
        "available": fixed(entry.available_after, d),
        "locked": fixed(entry.locked_after, d),
        "time": datetime_to_ms(entry.created_at),
    }


class LedgerOutputSerializer(serializers.Serializer):
    entry_id = serializers.IntegerField()
    asset = serializers.CharField()
    reason = serializers.ChoiceField(choices=LedgerReason.values)
    cause = serializers.CharField(
        help_text="What moved the money, as the engine names it: o:<order_id>, "
        "t:<symbol>:<trade_id>, a:<order_id>:<seq>, g:<order_id> (an OCO stop leg's hold when "
        "it triggers), x:<transfer id>."
    )
    ref = serializers.DictField(
        help_text='The cause resolved: {"type": "order", "order_id"}, {"type": "trade", '
        '"symbol", "trade_id"}, {"type": "amend", "order_id"}, {"type": "deposit", '
        '"deposit_id"}, {"type": "withdrawal", "withdrawal_id"} or {"type": "move"}.'
    )
    delta_available = DecimalString()
    delta_locked = DecimalString()
    available = DecimalString(help_text="After this movement.")
    locked = DecimalString(help_text="After this movement.")
    time = serializers.IntegerField(help_text="Unix time, ms.")
