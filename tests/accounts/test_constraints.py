"""The database itself refuses impossible money states, whatever the code above it does."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Asset, Balance, Deposit, LedgerReason, Withdrawal
from tests.factories import make_balance, make_ledger_entry


@pytest.mark.parametrize("field", ["available", "locked"])
def test_balance_is_refused_when_negative(alice, assets, field):
    # given a balance row
    balance = make_balance(alice, assets["USDC"], available="1", locked="1")
    # when it is driven below zero, then the database refuses
    with pytest.raises(IntegrityError), transaction.atomic():
        Balance.objects.filter(pk=balance.pk).update(**{field: Decimal("-0.000001")})


def test_balance_is_refused_when_a_second_row_for_the_same_user_and_asset(alice, assets):
    make_balance(alice, assets["SOL"], available="1")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_balance(alice, assets["SOL"], available="2")


def test_ledger_entry_is_refused_when_its_cause_was_already_recorded(alice, assets):
    # given an entry for a cause
    make_ledger_entry(alice, assets["USDC"], cause="trade:SOL_USDC:1", reason=LedgerReason.TRADE)
    # when a replay inserts the same (user, asset, reason, cause), then it is refused
    with pytest.raises(IntegrityError), transaction.atomic():
        make_ledger_entry(alice, assets["USDC"], cause="trade:SOL_USDC:1", reason="trade")


def test_ledger_entry_is_accepted_when_the_same_cause_has_another_reason_or_asset(alice, assets):
    make_ledger_entry(alice, assets["USDC"], cause="trade:SOL_USDC:1", reason=LedgerReason.TRADE)
    make_ledger_entry(alice, assets["USDC"], cause="trade:SOL_USDC:1", reason=LedgerReason.FEE)
    make_ledger_entry(alice, assets["SOL"], cause="trade:SOL_USDC:1", reason=LedgerReason.TRADE)


@pytest.mark.parametrize("model", [Deposit, Withdrawal])
@pytest.mark.parametrize("amount", ["0", "-1"])
def test_transfer_is_refused_when_amount_is_not_positive(alice, assets, model, amount):
    extra = {"address": "x"} if model is Withdrawal else {}
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(user=alice, asset=assets["USDC"], amount=Decimal(amount), **extra)


def test_asset_is_refused_when_decimals_exceed_18(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        Asset.objects.create(code="XX", name="Too fine", decimals=19)
