"""GET /api/v1/user/deposits and /user/withdrawals: the caller's transfers, newest first,
cursor-paginated, filtered by asset and status."""

from decimal import Decimal

import pytest

from accounts.models import Deposit, DepositStatus, Withdrawal, WithdrawalStatus
from tests.api import Api
from tests.factories import make_deposit, make_user, make_withdrawal
from tests.support.waiting import wait_until


@pytest.fixture
def alice_api(db, assets, api_env):
    # given alice's deposits of 1, 2 and 3 USDC and 4 SOL, and bob's one deposit
    alice = make_user("alice")
    for amount in ("1", "2", "3"):
        make_deposit(alice, assets["USDC"], amount)
    sol = make_deposit(alice, assets["SOL"], "4")
    Deposit.objects.filter(pk=sol.pk).update(status=DepositStatus.CONFIRMED)
    make_deposit(make_user("bob"), assets["USDC"], "99")
    return Api.for_user(alice, "read")


def amounts(page):
    return [Decimal(row["amount"]) for row in page["results"]]


def test_deposits_are_listed_newest_first_with_times_when_asked(alice_api):
    page = alice_api.get("/api/v1/user/deposits").json()
    assert amounts(page) == [4, 3, 2, 1]
    assert page["next"] is None
    first = page["results"][0]
    assert set(first) == {
        "deposit_id",
        "asset",
        "amount",
        "status",
        "created_at",
        "updated_at",
        "credited_at",
    }
    assert (first["asset"], first["status"], first["credited_at"]) == ("SOL", "confirmed", None)
    assert isinstance(first["created_at"], int)


def test_deposits_never_include_another_users(alice_api):
    page = alice_api.get("/api/v1/user/deposits").json()
    assert Decimal(99) not in amounts(page)


def test_deposits_are_filtered_by_asset_and_status_when_asked(alice_api):
    assert amounts(alice_api.get("/api/v1/user/deposits", asset="USDC").json()) == [3, 2, 1]
    assert amounts(alice_api.get("/api/v1/user/deposits", status="confirmed").json()) == [4]
    assert (
        amounts(alice_api.get("/api/v1/user/deposits", asset="USDC", status="confirmed").json())
        == []
    )


def test_deposits_are_paginated_when_a_limit_is_given(alice_api):
    first = alice_api.get("/api/v1/user/deposits", limit=3).json()
    assert amounts(first) == [4, 3, 2]
    second = alice_api.request("GET", first["next"].split("testserver", 1)[1]).json()
    assert amounts(second) == [1]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"asset": "NOPE"}, "unknown_asset"),
        ({"asset": "usdc"}, "invalid_request"),
        ({"status": "lost"}, "invalid_request"),
        ({"limit": "0"}, "invalid_request"),
        ({"cursor": "garbage"}, "invalid_cursor"),
    ],
)
def test_deposit_history_refuses_bad_filters(alice_api, params, code):
    resp = alice_api.get("/api/v1/user/deposits", **params)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == code


def test_withdrawals_are_listed_with_address_and_reason_when_asked(db, assets, api_env):
    # given a pending and a failed withdrawal of alice, and one of bob
    alice = make_user("alice")
    make_withdrawal(alice, assets["USDC"], "5")
    failed = make_withdrawal(alice, assets["SOL"], "6")
    Withdrawal.objects.filter(pk=failed.pk).update(
        status=WithdrawalStatus.FAILED, reject_reason="insufficient_funds"
    )
    make_withdrawal(make_user("bob"), assets["USDC"], "7")
    api = Api.for_user(alice, "read")
    # when she lists them
    page = api.get("/api/v1/user/withdrawals").json()
    # then she sees hers only, newest first, with the reason of the failed one
    assert amounts(page) == [6, 5]
    assert page["results"][0]["status"] == "failed"
    assert page["results"][0]["reason"] == "insufficient_funds"
    assert page["results"][1]["reason"] is None
    assert set(page["results"][1]) >= {"withdrawal_id", "address", "created_at", "completed_at"}
    assert amounts(api.get("/api/v1/user/withdrawals", status="pending").json()) == [5]
    assert amounts(api.get("/api/v1/user/withdrawals", asset="SOL").json()) == [6]


def test_transfer_history_needs_authentication(db, api_env, client):
    for path in ("/api/v1/user/deposits", "/api/v1/user/withdrawals"):
        assert client.get(path).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_deposit_shows_as_credited_once_the_matcher_applied_it(pipeline):
    api = Api.for_user(make_user("alice"), "read", "trade", "withdraw").fund(USDC="10")

    def credited() -> bool:
        rows = api.get("/api/v1/user/deposits").json()["results"]
        return [(r["status"], r["credited_at"] is not None) for r in rows] == [("credited", True)]

    wait_until(credited, timeout=10, what="deposit credited")
    resp = api.post("/api/v1/user/withdraw", {"asset": "USDC", "amount": "11", "address": "a1"})
    assert resp.json()["error"]["code"] == "insufficient_funds"
    row = api.get("/api/v1/user/withdrawals").json()["results"][0]
    assert (row["status"], row["reason"]) == ("failed", "insufficient_funds")
