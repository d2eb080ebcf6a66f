"""Deposit, Withdraw, SettleWithdrawal, ReleaseWithdrawal: idempotent by transfer id."""

from __future__ import annotations

from matching.errors import RejectReason
from matching.events import TransferApplied, TransferRejected
from matching.types import Side
from tests.matching.builders import (
    ALICE,
    BTC,
    SYM,
    USD,
    deposit,
    kinds,
    limit,
    moves,
    new_engine,
    only,
    release,
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
