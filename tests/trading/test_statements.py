"""CSV statements: /api/v1/user/statements builds one (Celery, eager here) of the caller's ledger
and trades for a period; the CSV matches the ledger row for row and sums to the balances."""

import csv
import io
import time
from collections import defaultdict
from decimal import Decimal as D

import pytest
from django.utils import timezone

from accounts.models import LedgerEntry, Statement
from tests.api import Api
from tests.factories import make_user
from trading.statements import COLUMNS

pytestmark = pytest.mark.django_db(transaction=True)
DAY_MS = 86_400_000


@pytest.fixture
def traded(pipeline):
    alice = Api.for_user(make_user("alice"), "read", "trade").fund(SOL="5", USDC="100")
    bob = Api.for_user(make_user("bob"), "read", "trade").fund(USDC="1000")
    alice.place(side="sell", price="150", quantity="1")
    bob.place(side="buy", price="150", quantity="2")  # 1 fills, 1 rests
    bob.delete("/api/v1/orders")
    return alice, bob


def now_ms() -> int:
    return int(time.time() * 1000)


def request(api: Api, start: int, end: int):
    return api.post("/api/v1/user/statements", {"start_time": start, "end_time": end})


def download(api: Api, start: int, end: int) -> list[dict[str, str]]:
    resp = request(api, start, end)
    assert resp.status_code == 202, resp.content
    statement = resp.json()
    assert statement["status"] == "pending"  # as sent; the task ran at the commit (eager)
    ready = api.get(f"/api/v1/user/statements/{statement['statement_id']}").json()
    assert ready["status"] == "ready", ready
    csv_resp = api.get(ready["download"])
    assert csv_resp.status_code == 200
    assert csv_resp["Content-Type"].startswith("text/csv")
    assert "attachment" in csv_resp["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(csv_resp.content.decode())))
    assert ready["rows"] == len(rows)
    return rows


def test_statement_matches_the_ledger_when_it_covers_everything(traded):
    alice, _ = traded
    rows = download(alice, now_ms() - DAY_MS, now_ms() + DAY_MS)
    ledger = [r for r in rows if r["record"] == "ledger"]
    # every ledger entry of alice, once, with its exact movement and cause
    entries = LedgerEntry.objects.filter(user=alice.user).select_related("asset")
    expected = {
        (e.cause, e.asset.code, e.reason, e.delta_available, e.delta_locked) for e in entries
    }
    got = {
        (r["cause"], r["asset"], r["reason"], D(r["delta_available"]), D(r["delta_locked"]))
        for r in ledger
    }
    assert len(ledger) == entries.count() and got == expected
    # and the movements sum to the balances
    totals: dict[str, D] = defaultdict(D)
    for r in ledger:
        totals[r["asset"]] += D(r["delta_available"]) + D(r["delta_locked"])
    assert dict(totals) == {a: av + lk for a, (av, lk) in alice.balances().items()}
    # in time order
    times = [int(r["time_ms"]) for r in rows]
    assert times == sorted(times)


def test_statement_lists_the_callers_fills_when_they_traded(traded):
    alice, bob = traded
    (fill,) = [
        r for r in download(alice, now_ms() - DAY_MS, now_ms() + DAY_MS) if r["record"] == "trade"
    ]
    assert (fill["symbol"], fill["side"], fill["price"], fill["quantity"]) == (
        "SOL_USDC",
        "sell",
        "150",
        "1",
    )
    assert (fill["liquidity"], fill["fee_asset"]) == ("maker", "USDC")
    bob_fills = [
        r for r in download(bob, now_ms() - DAY_MS, now_ms() + DAY_MS) if r["record"] == "trade"
    ]
    assert [(r["side"], r["liquidity"]) for r in bob_fills] == [("buy", "taker")]


def test_statement_is_empty_but_for_its_header_when_the_period_saw_nothing(traded):
    alice, _ = traded
    assert download(alice, 0, DAY_MS) == []
    csv_text = Statement.objects.filter(user=alice.user).latest("pk").content
    assert csv_text.splitlines() == [",".join(COLUMNS)]


def test_statement_is_not_found_when_it_is_another_users(traded):
    alice, bob = traded
    statement_id = request(alice, 0, DAY_MS).json()["statement_id"]
    for path in (
        f"/api/v1/user/statements/{statement_id}",
        f"/api/v1/user/statements/{statement_id}/csv",
    ):
        resp = bob.get(path)
        assert (resp.status_code, resp.json()["error"]["code"]) == (404, "statement_not_found")
    assert bob.get("/api/v1/user/statements").json() == []
    huge = alice.get(f"/api/v1/user/statements/{2**70}")
    assert huge.status_code == 404


def test_statement_csv_is_refused_when_not_built_yet(pipeline):
    # given a statement whose task has not run yet
    api = Api.for_user(make_user("carol"), "read")
    row = Statement.objects.create(user=api.user, start=timezone.now(), end=timezone.now())
    resp = api.get(f"/api/v1/user/statements/{row.pk}/csv")
    assert (resp.status_code, resp.json()["error"]["code"]) == (409, "statement_not_ready")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"start_time": DAY_MS, "end_time": DAY_MS}, "invalid_period"),
        ({"start_time": 0, "end_time": 400 * DAY_MS}, "invalid_period"),
        ({"start_time": 0}, "invalid_request"),
        ({"start_time": -1, "end_time": DAY_MS}, "invalid_request"),
        ({"start_time": 0, "end_time": 10**20}, "invalid_request"),
    ],
)
def test_statement_request_is_refused_when_the_period_is_invalid(pipeline, body, code):
    api = Api.for_user(make_user("dave"), "read")
    resp = api.post("/api/v1/user/statements", body)
    assert (resp.status_code, resp.json()["error"]["code"]) == (400, code)
    assert not Statement.objects.exists()
