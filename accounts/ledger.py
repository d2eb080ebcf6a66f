"""Balance, ledger and transfer projections, written only by the persister.

``apply_events`` runs inside the persister's transaction, together with its checkpoint. Balances
move by the events' exact deltas, summed per row in integer atoms and added in one UPDATE on
PostgreSQL (numeric arithmetic is exact there; on SQLite, whose arithmetic is not, the new
values are computed in Python with Decimals). With several matcher shards each shard's
persister adds its own deltas to the same row under its row lock, so the row is the user's total
over all shards.

Guards, whatever the checkpoint says: with one shard, a move at or below its balance row's
``last_event_seq`` is skipped, ledger entry and all (with several, the ledger's unique key
refuses a replay). A deposit moves only as ``DEPOSIT_ENGINE_MOVES`` allows, a withdrawal's
settle or release is recorded only for the statuses ``WITHDRAWAL_ENGINE_STEPS`` lists;
anything else raises ``IllegalTransition`` (accounts/transitions.py) and the persister halts.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple

from django.db import connection

from accounts.models import Asset, Balance, Deposit, LedgerEntry, ShardBalance, Withdrawal
from accounts.models import DepositStatus as D
from accounts.models import WithdrawalStatus as W
from accounts.transitions import (
    DEPOSIT_ENGINE_MOVES,
    WITHDRAWAL_ENGINE_STEPS,
    WITHDRAWAL_TRANSITIONS,
    allowed,
    refuse_transition,
)
from common import bulk
from common.clock import ns_to_datetime
from matching.arith import atoms_to_amount, fixed
from matching.events import BalanceChanged, Event, TransferApplied, TransferRejected
from pipeline.client import shard_map


class AssetRef(NamedTuple):
    id: int
    decimals: int


@cache
def asset_ref(code: str) -> AssetRef:
    """Asset ids and decimals never change once used, so they are cached for the process."""
    asset = Asset.objects.only("id", "decimals").get(code=code)
    return AssetRef(asset.id, asset.decimals)


def apply_events(events: Sequence[Event], shard: str | None = None) -> None:
    """``shard``: the matcher shard these events come from; with several shards its own part
    of each balance is kept too (ShardBalance)."""
    moves = [ev for ev in events if type(ev) is BalanceChanged]
    if moves:
        several = len(shard_map().shards) > 1
        _apply_balance_moves(moves, guard=not several)
        if shard is not None and several:
            _apply_shard_balances(moves, shard)
    for ev in events:
        if type(ev) is TransferApplied:
            _transfer_applied(ev)
        elif type(ev) is TransferRejected:
            _transfer_rejected(ev)


_LEDGER_COLUMNS = (
    "user_id",
    "asset_id",
    "reason",
    "cause",
    "delta_available",
    "delta_locked",
    "available_after",
    "locked_after",
    "event_seq",
    "created_at",
)


def _apply_balance_moves(moves: Sequence[BalanceChanged], *, guard: bool) -> None:
    """The ledger entries and the balance deltas of ``moves``.

    ``guard``: skip every move at or below its balance row's ``last_event_seq`` (read under
    the row's lock, taken before anything is written), ledger entry included, so a replayed
    event changes neither. Only with one shard: with several, a row sums the shards' deltas
    and its ``last_event_seq`` is whichever shard's wrote last, not a sequence to compare; a
    replay is then refused by the ledger's unique (user, asset, reason, cause) instead.
    """
    keys = sorted({(ev.account, asset_ref(ev.asset).id) for ev in moves})
    if connection.vendor == "postgresql":
        floors = _lock_balances_pg(keys)
        rows: dict[tuple[int, int], Balance] = {}
    else:
        rows = _lock_balances(keys)
        floors = {key: row.last_event_seq for key, row in rows.items()}
    entries: list[tuple[object, ...]] = []
    # Per (user, asset): [delta available, delta locked] in atoms, and the last event.
    deltas: dict[tuple[int, int], list[int]] = {}
    last: dict[tuple[int, int], BalanceChanged] = {}
    for ev in moves:
        ref = asset_ref(ev.asset)
        key = (ev.account, ref.id)
        if guard and key in floors and ev.seq <= floors[key]:
            continue  # applied already
        d = ref.decimals
        entries.append(  # values as text (common/bulk.py)
            (
                ev.account,
                ref.id,
                str(ev.reason),
                ev.cause,
                fixed(ev.delta_available, d),
                fixed(ev.delta_locked, d),
                fixed(ev.available, d),
                fixed(ev.locked, d),
                ev.seq,
                bulk.time_text(ev.ts),
            )
        )
        acc = deltas.get(key)
        if acc is None:
            deltas[key] = [ev.delta_available, ev.delta_locked]
        else:
            acc[0] += ev.delta_available
            acc[1] += ev.delta_locked
        last[key] = ev
    bulk.insert_rows(LedgerEntry, _LEDGER_COLUMNS, entries)
    if connection.vendor == "postgresql":
        _add_to_balances_pg(deltas, last, floors)
    else:
        _add_to_balances(deltas, last, rows)


def _lock_balances_pg(keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Lock the existing rows in (user, asset) order, the order every persister locks them in
    (no deadlock between shards); their ``last_event_seq``."""
    with connection.cursor() as cursor:
        cursor.execute(
            f'SELECT user_id, asset_id, last_event_seq FROM "{_BALANCES}"'  # noqa: S608
            " WHERE (user_id, asset_id) IN (SELECT * FROM unnest(%s::bigint[], %s::bigint[]))"
            " ORDER BY user_id, asset_id FOR UPDATE",
            [bulk.array_text(user for user, _ in keys), bulk.array_text(a for _, a in keys)],
        )
        return {(user, asset): seq for user, asset, seq in cursor.fetchall()}


def _add_to_balances_pg(
    deltas: dict[tuple[int, int], list[int]],
    last: dict[tuple[int, int], BalanceChanged],
    existing: dict[tuple[int, int], int],
) -> None:
    """Add the deltas to the locked rows in SQL (PostgreSQL's numeric arithmetic is exact),
    insert the rows that did not exist. Not an upsert: PostgreSQL checks the proposed row (a
    negative delta) against ``available >= 0`` before it finds the conflict."""
    updates: list[tuple[Any, ...]] = []
    inserts: list[tuple[Any, ...]] = []
    for key in sorted(deltas):
        d_avail, d_locked = deltas[key]
        ev = last[key]
        decimals = asset_ref(ev.asset).decimals
        row = (
            key[0],
            key[1],
            fixed(d_avail, decimals),
            fixed(d_locked, decimals),
            bulk.time_text(ev.ts),
            ev.seq,
        )
        (updates if key in existing else inserts).append(row)
    if updates:
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{_BALANCES}" AS b SET available = b.available + v.da,'  # noqa: S608
                " locked = b.locked + v.dl, updated_at = v.at, last_event_seq = v.seq"
                " FROM unnest(%s::bigint[], %s::bigint[], %s::numeric[], %s::numeric[],"
                " %s::timestamptz[], %s::bigint[]) AS v(u, a, da, dl, at, seq)"
                " WHERE b.user_id = v.u AND b.asset_id = v.a",
                [bulk.array_text(column) for column in zip(*updates, strict=True)],
            )
    bulk.insert_rows(
        Balance,
        ("user_id", "asset_id", "available", "locked", "updated_at", "last_event_seq"),
        inserts,
    )


_BALANCES = Balance._meta.db_table


def _lock_balances(keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], Balance]:
    """Other databases (SQLite in development): the existing rows, locked where rows lock."""
    return {
        (b.user_id, b.asset_id): b
        for b in Balance.objects.select_for_update()
        .filter(user_id__in={u for u, _ in keys}, asset_id__in={a for _, a in keys})
        .order_by("user_id", "asset_id")  # one lock order for every persister: no deadlock
    }


def _add_to_balances(
    deltas: dict[tuple[int, int], list[int]],
    last: dict[tuple[int, int], BalanceChanged],
    existing: dict[tuple[int, int], Balance],
) -> None:
    """Other databases (SQLite in development): add in Python, write back."""
    to_create: list[Balance] = []
    to_update: list[Balance] = []
    for key, atoms in deltas.items():
        ev = last[key]
        decimals = asset_ref(ev.asset).decimals
        d_avail, d_locked = (atoms_to_amount(decimals, a) for a in atoms)
        row = existing.get(key)
        if row is None:
            row = Balance(user_id=key[0], asset_id=key[1], available=d_avail, locked=d_locked)
            to_create.append(row)
        else:
            row.available += d_avail
            row.locked += d_locked
            to_update.append(row)
        row.updated_at = ns_to_datetime(ev.ts)
        row.last_event_seq = ev.seq
    if to_create:
        Balance.objects.bulk_create(to_create)
    if to_update:
        Balance.objects.bulk_update(
            to_update, ["available", "locked", "updated_at", "last_event_seq"]
        )


def _apply_shard_balances(moves: Sequence[BalanceChanged], shard: str) -> None:
    """The engine's absolute values after the batch, per (user, asset) of this shard."""
    last: dict[tuple[int, str], BalanceChanged] = {}
    for ev in moves:
        last[(ev.account, ev.asset)] = ev
    rows = []
    for (account, code), ev in last.items():
        ref = asset_ref(code)
        rows.append(
            ShardBalance(
                user_id=account,
                asset_id=ref.id,
                shard=shard,
                available=atoms_to_amount(ref.decimals, ev.available),
                locked=atoms_to_amount(ref.decimals, ev.locked),
                updated_at=ns_to_datetime(ev.ts),
            )
        )
    ShardBalance.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["user", "asset", "shard"],
        update_fields=["available", "locked", "updated_at"],
    )


def _request_uuid(transfer_id: str) -> uuid.UUID | None:
    """Deposit/Withdrawal rows use UUIDs; other transfer ids (internal moves) have no row."""
    try:
        return uuid.UUID(transfer_id)
    except ValueError:
        return None


def _transfer_applied(ev: TransferApplied) -> None:
    if _request_uuid(ev.transfer_id) is None:
        return
    when = ns_to_datetime(ev.ts)
    if ev.kind == "deposit":
        _move_deposit(ev, D.CONFIRMED, D.CREDITED, credited_at=when, updated_at=when)
        return
    # A withdrawal's engine side: when its funds were held, and when the hold was settled (the
    # funds left) or released. The status is the services' decision (accounts/withdrawals.py);
    # these say it was carried out, for the sweep and reconciliation. A hold may be recorded at
    # any status (the services may have moved on from the matcher's reply meanwhile); a settle
    # or release only on a status it carries out.
    stamp = {"withdraw": "held_at", "settle": "settled_at", "release": "released_at"}.get(ev.kind)
    if stamp is None:
        return
    rows = Withdrawal.objects.filter(transfer_id=ev.transfer_id, **{f"{stamp}__isnull": True})
    carries_out = WITHDRAWAL_ENGINE_STEPS.get(ev.kind)
    if carries_out is not None:
        rows = rows.filter(status__in=carries_out)
    if rows.update(**{stamp: when}) or carries_out is None:
        return
    found = Withdrawal.objects.filter(transfer_id=ev.transfer_id).values_list("status", stamp)
    row = found.first()
    if row is not None and row[1] is None:  # not a repeat: the status forbids it
        refuse_transition("withdrawal", ev.transfer_id, row[0], f"{ev.kind}d", ev.seq)


def _transfer_rejected(ev: TransferRejected) -> None:
    if _request_uuid(ev.transfer_id) is None:
        return
    when = ns_to_datetime(ev.ts)
    if Deposit.objects.filter(transfer_id=ev.transfer_id).exists():
        _move_deposit(ev, D.CONFIRMED, D.REJECTED, updated_at=when)
        return
    # Only a hold can be refused for a withdrawal the services still call pending (a settle or
    # release follows a hold, and a repeat is a no-op): nothing was held. At any other status
    # the refusal moves nothing (a cancelled withdrawal's late hold, a release of nothing).
    if not allowed(WITHDRAWAL_TRANSITIONS, W.PENDING, W.FAILED):
        refuse_transition("withdrawal", ev.transfer_id, W.PENDING, W.FAILED, ev.seq)
    Withdrawal.objects.filter(
        transfer_id=ev.transfer_id, status=W.PENDING, held_at__isnull=True
    ).update(status=W.FAILED, reject_reason=str(ev.reason), updated_at=when)


def _move_deposit(
    ev: TransferApplied | TransferRejected, current: str, new: str, **fields: Any
) -> None:
    """Move the deposit of ``ev`` from ``current`` (the only status the engine sees a deposit
    in) to ``new``: a no-op for a repeat, IllegalTransition from any other status."""
    if not allowed(DEPOSIT_ENGINE_MOVES, current, new):
        refuse_transition("deposit", ev.transfer_id, current, new, ev.seq)
    rows = Deposit.objects.filter(transfer_id=ev.transfer_id)
    if rows.filter(status=current).update(status=new, **fields):
        return
    status = rows.values_list("status", flat=True).first()
    if status is not None and status != new:
        refuse_transition("deposit", ev.transfer_id, status, new, ev.seq)
