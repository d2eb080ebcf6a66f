"""Balances per (account, asset), in atoms: ``available`` and ``locked``.

* ``available`` can be spent or held; ``locked`` backs open orders and pending withdrawals.
* Neither ever goes negative: every caller checks before it moves funds (the engine's order
  and fill paths move :class:`Bal` fields directly, after the same checks).
* Transfers (deposit, withdrawal hold / settle / release) are keyed by ``transfer_id`` and are
  idempotent: a transfer id is recorded once applied, and the engine turns a repeat into a
  no-op.
* ``deposited`` / ``withdrawn`` count, per asset, what entered and what left the venue, so
  conservation can be checked: for every asset the sum of ``available + locked`` over all
  accounts (fee account included) equals ``deposited - withdrawn``.
"""

from __future__ import annotations

from collections.abc import Iterator

from matching.emit import balance_changed
from matching.errors import EngineInvariantError
from matching.events import BalanceChanged
from matching.types import BalanceReason

PENDING = "pending"
SETTLED = "settled"
RELEASED = "released"
DEPOSITED = "deposited"


class Bal:
    __slots__ = ("available", "locked")

    def __init__(self, available: int = 0, locked: int = 0) -> None:
        self.available = available
        self.locked = locked


class Transfer:
    """A transfer that took effect. ``state``: deposited, pending, settled or released.

    A withdrawal holds ``amount + fee``; settling it sends ``amount`` out of the venue and
    ``fee`` to the fee account.
    """

    __slots__ = ("account", "amount", "asset", "fee", "state")

    def __init__(self, state: str, account: int, asset: str, amount: int, fee: int = 0) -> None:
        self.state = state
        self.account = account
        self.asset = asset
        self.amount = amount
        self.fee = fee


class Balances:
    __slots__ = ("accounts", "deposited", "transfers", "withdrawn")

    def __init__(self) -> None:
        self.accounts: dict[int, dict[str, Bal]] = {}
        self.transfers: dict[str, Transfer] = {}
        self.deposited: dict[str, int] = {}
        self.withdrawn: dict[str, int] = {}

    def get(self, account: int, asset: str) -> Bal:
        """The balance of ``(account, asset)``, created at zero if new."""
        assets = self.accounts.get(account)
        if assets is None:
            assets = self.accounts[account] = {}
        bal = assets.get(asset)
        if bal is None:
            bal = assets[asset] = Bal()
        return bal

    def available(self, account: int, asset: str) -> int:
        """Available atoms of ``(account, asset)``, 0 if it has no balance (none is created)."""
        assets = self.accounts.get(account)
        bal = None if assets is None else assets.get(asset)
        return 0 if bal is None else bal.available

    def peek(self, account: int, asset: str) -> tuple[int, int]:
        bal = self.accounts.get(account, {}).get(asset)
        return (0, 0) if bal is None else (bal.available, bal.locked)

    def of(self, account: int) -> dict[str, tuple[int, int]]:
        return {a: (b.available, b.locked) for a, b in self.accounts.get(account, {}).items()}

    def items(self) -> Iterator[tuple[int, str, Bal]]:
        for account, assets in self.accounts.items():
            for asset, bal in assets.items():
                yield account, asset, bal

    def deposit(self, transfer_id: str, account: int, asset: str, amount: int) -> Bal:
        bal = self.get(account, asset)
        bal.available += amount
        self.transfers[transfer_id] = Transfer(DEPOSITED, account, asset, amount)
        self.deposited[asset] = self.deposited.get(asset, 0) + amount
        return bal

    def hold_withdrawal(
        self, transfer_id: str, account: int, asset: str, amount: int, fee: int = 0
    ) -> Bal:
        """Move ``amount + fee`` from available to locked; the caller checked it is available."""
        bal = self.get(account, asset)
        held = amount + fee
        if bal.available < held:
            raise EngineInvariantError("withdrawal hold larger than available")
        bal.available -= held
        bal.locked += held
        self.transfers[transfer_id] = Transfer(PENDING, account, asset, amount, fee)
        return bal

    def settle_withdrawal(self, transfer: Transfer, fee_account: int) -> tuple[Bal, Bal]:
        """The hold leaves: ``amount`` out of the venue, ``fee`` to ``fee_account``.
        Returns the withdrawing account's balance and the fee account's."""
        bal = self.get(transfer.account, transfer.asset)
        bal.locked -= transfer.amount + transfer.fee
        fee_bal = self.get(fee_account, transfer.asset)
        fee_bal.available += transfer.fee
        transfer.state = SETTLED
        self.withdrawn[transfer.asset] = self.withdrawn.get(transfer.asset, 0) + transfer.amount
        return bal, fee_bal

    def release_withdrawal(self, transfer: Transfer) -> Bal:
        bal = self.get(transfer.account, transfer.asset)
        held = transfer.amount + transfer.fee
        bal.locked -= held
        bal.available += held
        transfer.state = RELEASED
        return bal


def balance_moved(
    seq: int,
    command_id: str,
    ts: int,
    cause: str,
    account: int,
    asset: str,
    balance: Bal,
    *,
    available_by: int,
    locked_by: int,
    reason: BalanceReason,
) -> BalanceChanged:
    """The event of one movement of ``account``'s ``asset`` balance, made after the movement:
    it carries the movement (``available_by``, ``locked_by``) and the values it left. Every
    ``BalanceChanged`` of the engine is built here."""
    return balance_changed(
        seq=seq,
        command_id=command_id,
        ts=ts,
        account=account,
        asset=asset,
        available=balance.available,
        locked=balance.locked,
        delta_available=available_by,
        delta_locked=locked_by,
        reason=reason,
        cause=cause,
    )
