"""GET /api/v1/user/ledger: every balance movement of the caller with its cause, newest first,
filtered by asset and time, cursor-paginated; the sums are the balances."""

from collections import defaultdict
from decimal import Decimal as D

import pytest

from accounts.models import Deposit, Withdrawal
from tests.api import Api
from tests.factories import make_user
from tests.support.waiting import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def traded(pipeline):
    """alice deposits, sells 1 SOL to bob at 150, withdraws 40 USDC (paid, fee 1)."""
    alice = Api.for_user(make_user("alice"), "read", "trade", "withdraw").fund(SOL="5", USDC="100")
    bob = Api.for_user(make_user("bob"), "read", "trade").fund(USDC="1000")
    assert alice.place(side="sell", price="150", quantity="1").status_code == 201
    assert bob.place(side="buy", price="150", quantity="1").json()["status"] == "filled"
    resp = alice.post(
        "/api/v1/user/withdraw", {"asset": "USDC", "amount": "40", "address": "0x" + "e" * 40}
    )
    assert resp.status_code == 201, resp.content
    wid = resp.json()["withdrawal_id"]
    wait_until(lambda: Withdrawal.objects.get(pk=wid).settled_at is not None, what="settled")
    return alice, bob


def entries(api: Api, **params) -> list[dict]:
    out: list[dict] = []
    resp = api.get("/api/v1/user/ledger", **params)
    while True:
        assert resp.status_code == 200, resp.content
        page = resp.json()
        out += page["results"]
        if not page["next"]:
            return out
        resp = api.request("GET", page["next"].split("testserver", 1)[1])


def test_ledger_sums_to_the_balances_when_read_whole(traded):
    alice, _ = traded
    rows = entries(alice)
    totals: dict[str, list[D]] = defaultdict(lambda: [D(0), D(0)])
    for row in rows:
        totals[row["asset"]][0] += D(row["delta_available"])
        totals[row["asset"]][1] += D(row["delta_locked"])
    assert {a: tuple(t) for a, t in totals.items()} == alice.balances()
    # newest first; each row's balance after it is the previous row's plus its movement
    times = [row["time"] for row in rows]
    assert times == sorted(times, reverse=True)


def test_ledger_names_each_cause_when_read(traded):
    alice, _ = traded
    rows = entries(alice)
    kinds = {(row["reason"], row["ref"]["type"]) for row in rows}
    assert {
        ("deposit", "deposit"),
        ("hold", "order"),
        ("trade", "trade"),  # net of the trading fee (the fee account's line is its own)
        ("hold", "withdrawal"),
        ("withdrawal", "withdrawal"),
        ("fee", "withdrawal"),
    } <= kinds
    deposit = next(r for r in rows if r["reason"] == "deposit" and r["asset"] == "SOL")
    assert deposit["ref"]["deposit_id"] == Deposit.objects.get(asset__code="SOL").pk
    assert deposit["cause"].startswith("x:")
    fee = next(r for r in rows if r["reason"] == "fee" and r["ref"]["type"] == "withdrawal")
    assert (fee["asset"], fee["delta_available"], fee["delta_locked"]) == ("USDC", "0", "-1")
    assert fee["ref"]["withdrawal_id"] == Withdrawal.objects.get().pk
    trade = next(r for r in rows if r["reason"] == "trade" and r["asset"] == "USDC")
    assert trade["ref"] == {"type": "trade", "symbol": "SOL_USDC", "trade_id": 1}


def test_ledger_is_filtered_by_asset_and_time_when_asked(traded):
    alice, _ = traded
    every = entries(alice)
    sol = entries(alice, asset="SOL")
    assert sol and all(r["asset"] == "SOL" for r in sol)
    assert len(sol) == sum(r["asset"] == "SOL" for r in every)
    newest = every[0]["time"]
    assert entries(alice, start_time=newest + 1) == []
    assert {r["entry_id"] for r in entries(alice, end_time=newest)} == {
        r["entry_id"] for r in every
    }
    assert len(entries(alice, limit=2)) == len(every)  # followed through the cursor


def test_ledger_never_shows_another_users_movements(traded):
    alice, bob = traded
    ids = {r["entry_id"] for r in entries(alice)}
    assert ids.isdisjoint(r["entry_id"] for r in entries(bob))


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"asset": "NOPE"}, "unknown_asset"),
        ({"start_time": "-1"}, "invalid_request"),
        ({"end_time": str(10**20)}, "invalid_request"),
        ({"cursor": "garbage"}, "invalid_cursor"),
    ],
)
def test_ledger_refuses_bad_filters(pipeline, params, code):
    api = Api.for_user(make_user("carol"), "read")
    resp = api.get("/api/v1/user/ledger", **params)
    assert (resp.status_code, resp.json()["error"]["code"]) == (400, code)


def test_ledger_needs_authentication(pipeline, client):
    assert client.get("/api/v1/user/ledger").status_code == 401
