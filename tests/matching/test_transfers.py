"""Deposit, Withdraw, SettleWithdrawal, ReleaseWithdrawal: idempotent by transfer id."""

from __future__ import annotations

from matching import snapshot
from matching.errors import RejectReason
from matching.events import BalanceChanged, TotalsReported, TransferApplied, TransferRejected
from matching.types import Side
from tests.matching.builders import (
    ALICE,
    BOB,
    BTC,
    FEE_ACCOUNT,
    LOT,
    SYM,
    USD,
    deposit,
    kinds,
    limit,
    moves,
    new_engine,
    only,
    release,
    report_totals,
    run,
    settle,
    withdraw,
)  # fmt: skip


def test_deposit_credits_available_when_transfer_is_new() -> None:
    engine = new_engine()
    events = run(engine, deposit(ALICE, USD, 500, "d1"))
    assert kinds(events) == ["TransferApplied", "BalanceChanged"]
    applied = only(events, TransferApplied)[0]
    assert (applied.kind, applied.account, applied.asset, applied.amount) == (
        "deposit", ALICE, USD, 500,
    )  # fmt: skip
    assert moves(events) == [(ALICE, USD, 500, 0, "deposit")]
    assert events[1].cause == "x:d1"  # type: ignore[union-attr]
    assert engine.balance(ALICE, USD) == (500, 0)


def test_deposit_is_a_no_op_when_transfer_id_was_already_applied() -> None:
    engine = new_engine()
    run(engine, deposit(ALICE, USD, 500, "d1"))
    seq = engine.seq
    assert run(engine, deposit(ALICE, USD, 500, "d1")) == []
    assert run(engine, withdraw("d1", ALICE, USD, 10)) == []
    assert engine.seq == seq and engine.balance(ALICE, USD) == (500, 0)


def test_deposit_is_rejected_when_amount_is_not_positive() -> None:
    engine = new_engine()
    for amount in (0, -5, 2**127):
        events = run(engine, deposit(ALICE, USD, amount, "d1"))
        assert only(events, TransferRejected)[0].reason is RejectReason.INVALID_AMOUNT
    # a rejected transfer consumes nothing: the id still works
    assert kinds(run(engine, deposit(ALICE, USD, 5, "d1")))[0] == "TransferApplied"


def test_withdraw_holds_then_settle_removes_when_withdrawal_completes() -> None:
    engine = new_engine((ALICE, USD, 500))
    held = run(engine, withdraw("w1", ALICE, USD, 200))
    assert moves(held) == [(ALICE, USD, -200, 200, "hold")]
    assert engine.balance(ALICE, USD) == (300, 200)
    settled = run(engine, settle("w1"))
    assert kinds(settled) == ["TransferApplied", "BalanceChanged"]
    assert moves(settled) == [(ALICE, USD, 0, -200, "withdrawal")]
    assert engine.balance(ALICE, USD) == (300, 0)
    assert run(engine, settle("w1")) == []  # repeated settle: no-op


def test_release_returns_held_funds_when_withdrawal_is_cancelled() -> None:
    engine = new_engine((ALICE, USD, 500))
    run(engine, withdraw("w1", ALICE, USD, 200))
    events = run(engine, release("w1"))
    assert moves(events) == [(ALICE, USD, 200, -200, "release")]
    assert engine.balance(ALICE, USD) == (500, 0)
    assert run(engine, release("w1")) == []


def test_withdraw_is_rejected_when_funds_are_held_by_orders() -> None:
    engine = new_engine((ALICE, USD, 500))
    run(engine, limit(1, ALICE, Side.BUY, 100, 4))  # holds 400
    events = run(engine, withdraw("w1", ALICE, USD, 101))
    assert only(events, TransferRejected)[0].reason is RejectReason.INSUFFICIENT_FUNDS
    assert kinds(run(engine, withdraw("w1", ALICE, USD, 100)))[0] == "TransferApplied"
    assert engine.balance(ALICE, USD) == (0, 500)
    assert engine.depth(SYM, 1).bids == [(100, 4)]


def test_settle_or_release_is_rejected_when_transfer_is_unknown_or_a_deposit() -> None:
    engine = new_engine((ALICE, USD, 500))
    run(engine, deposit(ALICE, BTC, 5, "d1"))
    for cmd in (settle("nope"), release("nope"), settle("d1"), release("d1")):
        events = run(engine, cmd)
        assert only(events, TransferRejected)[0].reason is RejectReason.UNKNOWN_TRANSFER


def test_settle_is_rejected_when_withdrawal_was_released_and_vice_versa() -> None:
    engine = new_engine((ALICE, USD, 500))
    run(engine, withdraw("w1", ALICE, USD, 100))
    run(engine, withdraw("w2", ALICE, USD, 100))
    run(engine, release("w1"))
    run(engine, settle("w2"))
    assert only(run(engine, settle("w1")), TransferRejected)[0].reason is (
        RejectReason.DUPLICATE_TRANSFER
    )
    assert only(run(engine, release("w2")), TransferRejected)[0].reason is (
        RejectReason.DUPLICATE_TRANSFER
    )
    assert engine.balance(ALICE, USD) == (400, 0)


# --- withdrawal fees -------------------------------------------------------------------------


def test_withdraw_holds_amount_and_fee_when_a_fee_is_given() -> None:
    engine = new_engine((ALICE, USD, 500))
    held = run(engine, withdraw("w1", ALICE, USD, 200, fee=5))
    assert only(held, TransferApplied)[0].amount == 200
    assert moves(held) == [(ALICE, USD, -205, 205, "hold")]
    assert engine.balance(ALICE, USD) == (295, 205)


def test_withdraw_is_rejected_when_the_fee_does_not_fit_in_available() -> None:
    engine = new_engine((ALICE, USD, 500))
    events = run(engine, withdraw("w1", ALICE, USD, 500, fee=1))
    assert only(events, TransferRejected)[0].reason is RejectReason.INSUFFICIENT_FUNDS
    assert engine.balance(ALICE, USD) == (500, 0)


def test_withdraw_is_rejected_when_the_fee_is_negative() -> None:
    engine = new_engine((ALICE, USD, 500))
    events = run(engine, withdraw("w1", ALICE, USD, 100, fee=-1))
    assert only(events, TransferRejected)[0].reason is RejectReason.INVALID_AMOUNT


def test_settle_charges_the_fee_to_the_fee_account_when_the_withdrawal_leaves() -> None:
    # given a held withdrawal of 200 with a fee of 5
    engine = new_engine((ALICE, USD, 500))
    run(engine, withdraw("w1", ALICE, USD, 200, fee=5))
    # when it is settled
    settled = run(engine, settle("w1"))
    # then 200 leave the venue, 5 move to the fee account, each its own ledger line
    assert moves(settled) == [
        (ALICE, USD, 0, -200, "withdrawal"),
        (ALICE, USD, 0, -5, "fee"),
        (FEE_ACCOUNT, USD, 5, 0, "fee"),
    ]
    changes = only(settled, BalanceChanged)
    assert [(c.available, c.locked) for c in changes] == [(295, 5), (295, 0), (5, 0)]
    assert {c.cause for c in changes} == {"x:w1"}
    assert engine.balance(ALICE, USD) == (295, 0)
    assert engine.balance(FEE_ACCOUNT, USD) == (5, 0)
    # and conservation counts only the amount as withdrawn (validate() checks the sum)
    assert engine.balances_book.withdrawn[USD] == 200
    assert run(engine, settle("w1")) == []


def test_release_returns_amount_and_fee_when_a_withdrawal_with_a_fee_is_cancelled() -> None:
    engine = new_engine((ALICE, USD, 500))
    run(engine, withdraw("w1", ALICE, USD, 200, fee=5))
    events = run(engine, release("w1"))
    assert moves(events) == [(ALICE, USD, 205, -205, "release")]
    assert engine.balance(ALICE, USD) == (500, 0)
    assert engine.balance(FEE_ACCOUNT, USD) == (0, 0)


def test_settle_moves_the_fee_within_the_account_when_the_fee_account_withdraws() -> None:
    engine = new_engine((FEE_ACCOUNT, USD, 100))
    run(engine, withdraw("w1", FEE_ACCOUNT, USD, 40, fee=2))
    settled = run(engine, settle("w1"))
    assert moves(settled) == [
        (FEE_ACCOUNT, USD, 0, -40, "withdrawal"),
        (FEE_ACCOUNT, USD, 2, -2, "fee"),
    ]
    assert engine.balance(FEE_ACCOUNT, USD) == (60, 0)


# --- totals for reconciliation ---------------------------------------------------------------


def test_totals_are_reported_per_asset_when_asked_and_nothing_else_changes() -> None:
    # given deposits, a resting order, a held and a settled withdrawal with fees
    engine = new_engine((ALICE, USD, 5000), (BOB, BTC, 3 * LOT))
    run(engine, limit(1, ALICE, Side.BUY, 100, 4))
    run(engine, withdraw("w1", ALICE, USD, 100, fee=3))
    run(engine, withdraw("w2", ALICE, USD, 50, fee=1))
    run(engine, settle("w2"))
    hash_before, seq = engine.state_hash(), engine.seq
    # when the totals are asked for
    events = run(engine, report_totals())
    # then one event lists per asset the balances' sums and what entered and left
    (report,) = only(events, TotalsReported)
    assert report.seq == seq + 1
    assert report.totals == (
        (BTC, 3 * LOT, 0, 3 * LOT, 0),
        (USD, 5000 - 400 - 103 - 51 + 1, 400 + 103, 5000, 50),
    )
    for _asset, available, locked, deposited, withdrawn in report.totals:
        assert available + locked == deposited - withdrawn
    # and the state is what it was, but for the sequence number
    engine.seq = seq
    assert engine.state_hash() == hash_before


def test_a_held_fee_survives_a_snapshot_when_dumped_and_loaded() -> None:
    engine = new_engine((ALICE, USD, 500))
    run(engine, withdraw("w1", ALICE, USD, 200, fee=5))
    data = snapshot.dump(engine)
    restored = snapshot.load(data)
    restored.validate()
    assert moves(run(restored, release("w1"))) == [(ALICE, USD, 205, -205, "release")]
    # a snapshot written before fees existed lists transfers without one
    old = {**data, "transfers": [row[:5] for row in data["transfers"]]}
    old["balances"] = [[ALICE, USD, 300, 200]]
    older = snapshot.load(old)
    older.validate()
    assert moves(run(older, settle("w1"))) == [(ALICE, USD, 0, -200, "withdrawal")]
