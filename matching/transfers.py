"""Deposits and withdrawals (hold, settle, release), and the totals that reconcile them.

Decided semantics (see ``matching.engine`` for the rest of the contract)
------------------------------------------------------------------------
Deposit credits; Withdraw holds ``amount + fee`` (``insufficient_funds`` if not available);
SettleWithdrawal removes the held funds: ``amount`` leaves the venue (reason ``withdrawal``)
and ``fee`` goes from the account (reason ``fee``) to the fee account (reason ``fee``);
ReleaseWithdrawal returns both. ``TransferApplied.amount`` is the amount without the fee.
Balance causes are ``x:<transfer_id>``. A transfer id that already took effect makes Deposit /
Withdraw a no-op (``[]``), and a repeated settle or release a no-op; settling a released
withdrawal (or the reverse) is ``duplicate_transfer``; an id that is no withdrawal is
``unknown_transfer``; amounts outside 1..2**126 (a fee outside 0..2**126) are
``invalid_amount``, and so is a deposit above ``max_transfer_atoms`` of the asset's decimals,
or whose decimals are unknown or disagree with the markets'. A deposit that would take what the
engine holds of the asset (deposited - withdrawn) above ``max_balance_atoms`` is
``balance_limit_exceeded``: that one rule keeps every balance, locked amount and fee-account
balance of the asset within what the database stores (a withdrawal's fee only moves funds the
engine already holds). Rejected transfers consume nothing.

*ReportTotals* answers ``TotalsReported``: per asset, the sums over every account of available
and locked, and what was deposited and withdrawn (reconciliation); it changes nothing else.
"""

from __future__ import annotations

from matching.arith import MAX_AMOUNT_ATOMS, MAX_DECIMALS, max_balance_atoms, max_transfer_atoms
from matching.balances import DEPOSITED, PENDING, RELEASED, SETTLED, Transfer
from matching.commands import Deposit, ReleaseWithdrawal, ReportTotals, SettleWithdrawal, Withdraw
from matching.emit import balance_changed, totals_reported, transfer_applied, transfer_rejected
from matching.errors import RejectReason
from matching.events import (
    BalanceChanged,
    Event,
)
from matching.state import EngineState
from matching.types import BalanceReason

TransferCommand = Deposit | Withdraw | SettleWithdrawal | ReleaseWithdrawal


def deposit(engine: EngineState, command: Deposit) -> list[Event]:
    balances = engine.balances_book
    if command.transfer_id in balances.transfers:
        return []
    if _bad_amount(command.asset, command.amount):
        return _rejected(engine, command, RejectReason.INVALID_AMOUNT)
    # The bound on what this matcher holds of the asset (docs/reliability.md, "Bounded
    # money"): every balance of it, the fee account's and every locked amount included, is
    # part of deposited - withdrawn, so capping that caps them all, with no check in the
    # fill loop. Decimals the command gives must agree with the markets'.
    known = _asset_decimals(engine, command.asset)
    decimals = known if command.decimals is None else command.decimals
    if (
        type(decimals) is not int
        or not 0 <= decimals <= MAX_DECIMALS
        or (known is not None and decimals != known)
        or command.amount > max_transfer_atoms(decimals)
    ):
        return _rejected(engine, command, RejectReason.INVALID_AMOUNT)
    held = balances.deposited.get(command.asset, 0) - balances.withdrawn.get(command.asset, 0)
    if held + command.amount > max_balance_atoms(decimals):
        return _rejected(engine, command, RejectReason.BALANCE_LIMIT_EXCEEDED)
    bal = balances.deposit(command.transfer_id, command.account, command.asset, command.amount)
    events = _applied(engine, command, "deposit", command.account, command.asset, command.amount)
    events.append(
        _balance_changed(
            engine,
            command,
            account=command.account,
            asset=command.asset,
            available=bal.available,
            locked=bal.locked,
            delta_available=command.amount,
            delta_locked=0,
            reason=BalanceReason.DEPOSIT,
        )
    )
    return events


def withdraw(engine: EngineState, command: Withdraw) -> list[Event]:
    balances = engine.balances_book
    if command.transfer_id in balances.transfers:
        return []
    fee = command.fee
    if (
        _bad_amount(command.asset, command.amount)
        or type(fee) is not int
        or not 0 <= fee <= MAX_AMOUNT_ATOMS
    ):
        return _rejected(engine, command, RejectReason.INVALID_AMOUNT)
    held = command.amount + fee
    if balances.available(command.account, command.asset) < held:
        return _rejected(engine, command, RejectReason.INSUFFICIENT_FUNDS)
    bal = balances.hold_withdrawal(
        command.transfer_id, command.account, command.asset, command.amount, fee
    )
    events = _applied(engine, command, "withdraw", command.account, command.asset, command.amount)
    events.append(
        _balance_changed(
            engine,
            command,
            account=command.account,
            asset=command.asset,
            available=bal.available,
            locked=bal.locked,
            delta_available=-held,
            delta_locked=held,
            reason=BalanceReason.HOLD,
        )
    )
    return events


def settle_withdrawal(engine: EngineState, command: SettleWithdrawal) -> list[Event]:
    balances = engine.balances_book
    transfer = _pending_withdrawal(engine, command, SETTLED)
    if not isinstance(transfer, Transfer):
        return transfer
    fee = transfer.fee
    amount = transfer.amount
    account = transfer.account
    asset = transfer.asset
    fee_account = engine.fee_account
    bal, fee_bal = balances.settle_withdrawal(transfer, fee_account)
    events = _applied(engine, command, "settle", account, asset, amount)
    if not fee:
        events.append(
            _balance_changed(
                engine,
                command,
                account=account,
                asset=asset,
                available=bal.available,
                locked=bal.locked,
                delta_available=0,
                delta_locked=-amount,
                reason=BalanceReason.WITHDRAWAL,
            )
        )
        return events
    # Three movements under one cause, each with the balance after it: the amount leaves,
    # the fee leaves the account, the fee account receives it. The fee account paying its
    # own fee moves it from locked to available instead (one ledger line per reason).
    own_fee = account == fee_account
    events.append(
        _balance_changed(
            engine,
            command,
            account=account,
            asset=asset,
            available=bal.available - fee if own_fee else bal.available,
            locked=bal.locked + fee,
            delta_available=0,
            delta_locked=-amount,
            reason=BalanceReason.WITHDRAWAL,
        )
    )
    if own_fee:
        events.append(
            _balance_changed(
                engine,
                command,
                account=account,
                asset=asset,
                available=bal.available,
                locked=bal.locked,
                delta_available=fee,
                delta_locked=-fee,
                reason=BalanceReason.FEE,
            )
        )
        return events
    events.append(
        _balance_changed(
            engine,
            command,
            account=account,
            asset=asset,
            available=bal.available,
            locked=bal.locked,
            delta_available=0,
            delta_locked=-fee,
            reason=BalanceReason.FEE,
        )
    )
    events.append(
        _balance_changed(
            engine,
            command,
            account=fee_account,
            asset=asset,
            available=fee_bal.available,
            locked=fee_bal.locked,
            delta_available=fee,
            delta_locked=0,
            reason=BalanceReason.FEE,
        )
    )
    return events


def release_withdrawal(engine: EngineState, command: ReleaseWithdrawal) -> list[Event]:
    balances = engine.balances_book
    transfer = _pending_withdrawal(engine, command, RELEASED)
    if not isinstance(transfer, Transfer):
        return transfer
    bal = balances.release_withdrawal(transfer)
    held = transfer.amount + transfer.fee
    events = _applied(engine, command, "release", transfer.account, transfer.asset, transfer.amount)
    events.append(
        _balance_changed(
            engine,
            command,
            account=transfer.account,
            asset=transfer.asset,
            available=bal.available,
            locked=bal.locked,
            delta_available=held,
            delta_locked=-held,
            reason=BalanceReason.RELEASE,
        )
    )
    return events


def report_totals(engine: EngineState, command: ReportTotals) -> list[Event]:
    balances = engine.balances_book
    sums: dict[str, list[int]] = {}
    for _account, asset, bal in balances.items():
        row = sums.get(asset)
        if row is None:
            row = sums[asset] = [0, 0]
        row[0] += bal.available
        row[1] += bal.locked
    assets = sorted(set(sums) | set(balances.deposited) | set(balances.withdrawn))
    totals = tuple(
        (
            asset,
            *sums.get(asset, (0, 0)),
            balances.deposited.get(asset, 0),
            balances.withdrawn.get(asset, 0),
        )
        for asset in assets
    )
    engine.seq += 1
    return [
        totals_reported(
            seq=engine.seq,
            command_id=command.command_id,
            ts=command.ts,
            totals=totals,
        )
    ]


def _bad_amount(asset: object, amount: object) -> bool:
    return (
        type(asset) is not str
        or not asset
        or type(amount) is not int
        or not 0 < amount <= MAX_AMOUNT_ATOMS
    )


def _asset_decimals(engine: EngineState, asset: str) -> int | None:
    """The decimals of ``asset`` as a market of this engine has them (all agree)."""
    for market in engine.markets_by_symbol.values():
        for spec in (market.spec.base, market.spec.quote):
            if spec.code == asset:
                return spec.decimals
    return None


def _rejected(engine: EngineState, command: TransferCommand, reason: RejectReason) -> list[Event]:
    engine.seq += 1
    return [
        transfer_rejected(
            seq=engine.seq,
            command_id=command.command_id,
            ts=command.ts,
            transfer_id=command.transfer_id,
            reason=reason,
        )
    ]


def _pending_withdrawal(
    engine: EngineState, command: SettleWithdrawal | ReleaseWithdrawal, end: str
) -> Transfer | list[Event]:
    """The pending withdrawal ``command`` ends with ``end`` (settled or released), or what to
    answer instead: nothing for a repeat of that same end (idempotent by transfer id), a
    rejection for an unknown transfer or one that already ended the other way."""
    transfer = engine.balances_book.transfers.get(command.transfer_id)
    if transfer is None or transfer.state == DEPOSITED:
        return _rejected(engine, command, RejectReason.UNKNOWN_TRANSFER)
    if transfer.state == end:
        return []
    if transfer.state != PENDING:
        return _rejected(engine, command, RejectReason.DUPLICATE_TRANSFER)
    return transfer


def _applied(
    engine: EngineState, command: TransferCommand, kind: str, account: int, asset: str, amount: int
) -> list[Event]:
    """A new event list with the ``TransferApplied``; its balance movements follow."""
    engine.seq += 1
    return [
        transfer_applied(
            seq=engine.seq,
            command_id=command.command_id,
            ts=command.ts,
            transfer_id=command.transfer_id,
            kind=kind,
            account=account,
            asset=asset,
            amount=amount,
        )
    ]


def _balance_changed(
    engine: EngineState,
    command: TransferCommand,
    *,
    account: int,
    asset: str,
    available: int,
    locked: int,
    delta_available: int,
    delta_locked: int,
    reason: BalanceReason,
) -> BalanceChanged:
    """One movement of the transfer; ``available`` / ``locked``: the balance right after it."""
    engine.seq += 1
    return balance_changed(
        seq=engine.seq,
        command_id=command.command_id,
        ts=command.ts,
        account=account,
        asset=asset,
        available=available,
        locked=locked,
        delta_available=delta_available,
        delta_locked=delta_locked,
        reason=reason,
        cause=f"x:{command.transfer_id}",
    )
