"""Reconciliation with the real matcher and persister (threads): quiet when the engine, the
balances, the ledger and the transfers agree; a difference planted in any one of them is found,
named, logged, and shown in /api/v1/health and on the admin's index page until it is gone."""

from __future__ import annotations

import logging
from decimal import Decimal as D

import pytest
from django.db.models import F
from django.urls import reverse

from accounts import reconciliation
from accounts.models import Balance, Deposit, LedgerEntry, ReconciliationRun, Withdrawal
from tests.api import Api
from tests.factories import make_user
from tests.support.waiting import wait_until

ATOM = D("0.000001")  # one USDC atom


@pytest.fixture
def venue(pipeline):  # pipeline: transactional_db
    """Deposits, a trade with fees, a paid withdrawal with its fee, a resting order."""
    alice = Api.for_user(make_user("alice"), "read", "trade", "withdraw").fund(SOL="5", USDC="500")
    bob = Api.for_user(make_user("bob"), "read", "trade").fund(USDC="1000")
    alice.place(side="sell", price="150", quantity="2")
    bob.place(side="buy", price="150", quantity="1")
    resp = alice.post(
        "/api/v1/user/withdraw", {"asset": "USDC", "amount": "40", "address": "0x" + "1" * 40}
    )
    wid = resp.json()["withdrawal_id"]
    wait_until(lambda: Withdrawal.objects.get(pk=wid).settled_at is not None, what="settled")
    return alice


def health(client) -> dict:
    return client.get("/api/v1/health").json()


def test_reconciliation_is_quiet_when_every_source_agrees(venue, caplog, client):
    with caplog.at_level(logging.INFO, logger="accounts.reconciliation"):
        run = reconciliation.run()
    assert run.status == "ok", run.message
    assert not caplog.records
    usdc = run.details["USDC"]
    assert usdc["differences"] == {} and usdc["odd_one_out"] == []
    # 500 + 1000 deposited, 40 paid out; the fees stay inside (fee account)
    total = D(usdc["engine_available"]) + D(usdc["engine_locked"])
    assert total == D(usdc["transfers_net"]) == D(1460)
    assert usdc["withdrawal_fees"] == "1"
    assert health(client)["alerts"] == []
    assert health(client)["checks"]["reconciliation"]["status"] == "ok"


def plant_in_balances() -> None:
    Balance.objects.filter(user__username="alice", asset__code="USDC").update(
        available=F("available") + ATOM
    )


def plant_in_ledger() -> None:
    entry = LedgerEntry.objects.filter(user__username="alice", asset__code="USDC").first()
    assert entry is not None
    LedgerEntry.objects.filter(pk=entry.pk).update(delta_locked=F("delta_locked") - ATOM)


def plant_in_transfers() -> None:
    Deposit.objects.filter(user__username="bob").update(amount=F("amount") + ATOM)


def plant_in_engine(pipeline) -> None:
    # as if the engine had credited a deposit nobody recorded
    engine = pipeline.matchers["s0"].engine
    user_id = Balance.objects.filter(user__username="alice").values_list("user_id", flat=True)[0]
    engine.balances_book.get(user_id, "USDC").available += 1
    engine.balances_book.deposited["USDC"] += 1


@pytest.mark.parametrize(
    ("plant", "odd"),
    [
        ("balances", ["balances"]),
        ("ledger", ["ledger"]),
        ("transfers", ["transfers"]),
        ("engine", ["engine"]),
    ],
)
def test_reconciliation_finds_a_difference_planted_in_one_source(
    venue, pipeline, caplog, client, admin_client, plant, odd
):
    # given one source off by one atom of USDC
    planter = {
        "balances": plant_in_balances,
        "ledger": plant_in_ledger,
        "transfers": plant_in_transfers,
        "engine": lambda: plant_in_engine(pipeline),
    }[plant]
    planter()
    # when reconciliation runs
    with caplog.at_level(logging.ERROR, logger="accounts.reconciliation"):
        run = reconciliation.run()
    # then it names the asset and the odd source, and only that asset
    assert run.status == "mismatch"
    assert run.details["USDC"]["odd_one_out"] == odd
    assert run.details["USDC"]["differences"]
    assert all(not d["differences"] for code, d in run.details.items() if code != "USDC")
    assert "USDC" in run.message and odd[0] in run.message
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    # and the alert shows in health (the site stays up) and on the admin's index page
    body = client.get("/api/v1/health")
    assert body.json()["alerts"] == ["reconciliation"]
    assert body.json()["checks"]["reconciliation"]["ok"] is False
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "Reconciliation found a difference" in page


def test_alert_clears_when_the_next_run_agrees_again(venue, client):
    plant_in_balances()
    assert reconciliation.run().status == "mismatch"
    Balance.objects.filter(user__username="alice", asset__code="USDC").update(
        available=F("available") - ATOM
    )
    assert reconciliation.run().status == "ok"
    assert health(client)["alerts"] == []
    assert ReconciliationRun.objects.count() == 2


def test_reconciliation_records_an_error_when_a_matcher_does_not_answer(db, api_env, settings):
    settings.ORDER_REPLY_TIMEOUT = 0.05  # no matcher runs here
    run = reconciliation.run()
    assert run.status == "error" and "did not answer" in run.message
    assert reconciliation.alert()["ok"] is True  # not a difference: health shows the matcher


@pytest.mark.parametrize(
    "value",
    ["0", "1", "0.000000000000000001", "9999999999999999999.999999999999999999", "-0.5"],
)
def test_figures_are_compared_exactly_when_they_have_37_digits(value):
    # units and text are exact far past the default decimal context's 28 digits
    assert reconciliation.text(reconciliation.units(D(value))) == value
    assert reconciliation.units(D(value) + D("1E-18")) == reconciliation.units(D(value)) + 1
