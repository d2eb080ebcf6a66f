"""Exact sums of decimals on this database; ``sqlite``-marked, so also run on SQLite (the
zero-config database) by scripts/test, whose SQL ``SUM`` adds floats."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import LedgerEntry
from accounts.reconciliation import read_database
from common.sums import sums_by, total
from tests.factories import make_asset, make_ledger_entry, make_user

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

# three orders' holds, an OCO's two legs, then the release of all five (USDC, 6 places), as a
# fresh ./scripts/run's ledger had them: added as floats, in this order, they make 8.5e-14
LOCKED = ("90.01", "90.01", "90.01", "10", "890.1", "-10", "-890.1", "-90.01", "-90.01", "-90.01")


def _ledger() -> None:
    user = make_user("sums")
    usdc = make_asset("USDC")
    for n, delta in enumerate(LOCKED):
        make_ledger_entry(
            user, usdc, cause=f"o:{n}", delta_locked=Decimal(delta), delta_available=-Decimal(delta)
        )


def test_sums_by_and_total_are_exact_when_the_amounts_are_not_whole() -> None:
    # given ledger entries whose locked deltas add up to exactly zero
    _ledger()
    # when they are summed, grouped and not
    grouped = sums_by(LedgerEntry.objects.all(), "asset__code", "delta_locked", "delta_available")
    overall = total(LedgerEntry.objects.all(), "delta_locked")
    # then the sums are exact
    assert grouped == {"USDC": (Decimal(0), Decimal(0))}
    assert overall == (Decimal(0),)
    assert total(LedgerEntry.objects.none(), "delta_locked") == (Decimal(0),)


def test_reconciliation_reads_an_exact_ledger_when_the_amounts_are_not_whole() -> None:
    _ledger()
    assert read_database()["USDC"]["ledger_locked"] == 0
