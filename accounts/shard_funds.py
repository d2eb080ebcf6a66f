"""Moving a user's funds between matcher shards (only when there are several).

Each shard's engine holds the balances it settles. Deposits land on the funding shard (the
first in MATCHER_SHARDS); an order on another shard, or a withdrawal, first tops the shard it
needs up with the shortfall, taken from the user's other shards.

A move is three ordinary engine commands under one transfer id ``mv-<hex>``: ``Withdraw`` on
the source (holds the amount, or is refused), ``Deposit`` on the destination, then
``SettleWithdrawal`` on the source. Each is idempotent by transfer id, so a move cut short by a
crash is completed by ``moves_resume`` (a Celery beat task): it re-sends the Withdraw and only
if the source confirms the hold (a repeat answers with no events) deposits and settles. Money is
never created: the deposit follows a confirmed hold. While a move is in flight (milliseconds)
the amount is counted on both shards; conservation is checked once moves have settled.
"""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal
from typing import Any

from accounts.ledger import asset_ref
from accounts.models import ShardBalance
from matching.arith import amount_to_atoms
from matching.commands import Deposit, ReleaseWithdrawal, SettleWithdrawal, Withdraw
from matching.events import TransferRejected
from pipeline.barrier import await_recorded
from pipeline.client import matcher, new_command_id, now_ns, shard_map
from pipeline.keys import MOVES as MOVES_KEY  # transfer id -> JSON of the move, until settled

RESUME_AFTER_S = 30.0


def _atoms(decimals: int, value: Decimal) -> int:
    return 0 if value <= 0 else amount_to_atoms(decimals, value)


def ensure_available(user_id: int, asset: str, atoms: int, shard: str) -> None:
    """Best effort: make ``shard`` hold ``atoms`` available of ``asset`` for ``user_id``.

    A no-op with one shard. If the user's other shards do not have enough, it moves what there
    is and the engine refuses the order or withdrawal for insufficient funds, as it should.
    """
    if len(shard_map().shards) == 1 or atoms <= 0:
        return
    # Its shard balances must include the user's own transfers and orders so far: a stale row
    # would move too little, and the order be refused for funds the user has (503 instead).
    # Other users' commands only add to what is available here (a fill of a resting order
    # frees funds), so a row that misses them moves a little more than needed, never too
    # little: an order need not wait for its user's fills to be recorded (own_only).
    await_recorded(user_id, own_only=True)
    decimals = asset_ref(asset).decimals
    parts = {
        row.shard: _atoms(decimals, row.available)
        for row in ShardBalance.objects.filter(user_id=user_id, asset__code=asset)
    }
    shortfall = atoms - parts.get(shard, 0)
    # The funding shard first, then the fullest.
    sources = sorted(
        (s for s in parts if s != shard and parts[s] > 0),
        key=lambda s: (s != shard_map().funding, -parts[s]),
    )
    for source in sources:
        if shortfall <= 0:
            return
        take = min(shortfall, parts[source])
        if move(user_id, asset, take, source, shard):
            shortfall -= take


def move(user_id: int, asset: str, atoms: int, source: str, dest: str) -> bool:
    """Move ``atoms`` of ``asset`` from ``source`` to ``dest``; True once deposited there."""
    transfer_id = f"mv-{uuid.uuid4().hex}"
    record = {"user": user_id, "asset": asset, "atoms": atoms, "src": source, "dst": dest}
    matcher().log.client.hset(MOVES_KEY, transfer_id, json.dumps({**record, "at": time.time()}))
    return _drive(transfer_id, record)


def _drive(transfer_id: str, record: dict[str, Any]) -> bool:
    client = matcher()
    user, asset, atoms = int(record["user"]), str(record["asset"]), int(record["atoms"])
    source, dest = str(record["src"]), str(record["dst"])
    held = client.send(
        source,
        Withdraw(new_command_id(), now_ns(), transfer_id, user, asset, atoms),
        user=user,
    )
    if held.events is None:
        return False  # no answer yet: moves_resume finishes it
    if any(type(ev) is TransferRejected for ev in held.events):
        client.log.client.hdel(MOVES_KEY, transfer_id)
        return False
    # Applied now, or applied before (a repeat answers with no events): the hold exists.
    decimals = asset_ref(asset).decimals
    deposited = client.send(
        dest,
        Deposit(new_command_id(), now_ns(), transfer_id, user, asset, atoms, decimals),
        user=user,
    )
    if deposited.events is None:
        return False  # durable; moves_resume settles once the deposit is confirmed
    if any(type(ev) is TransferRejected for ev in deposited.events):
        # The destination holds as much of the asset as it may (balance_limit_exceeded):
        # the funds go back to available on the source, nothing moved.
        client.send(
            source,
            ReleaseWithdrawal(new_command_id(), now_ns(), transfer_id),
            user=user,
            wait=False,
        )
        client.log.client.hdel(MOVES_KEY, transfer_id)
        return False
    client.send(
        source, SettleWithdrawal(new_command_id(), now_ns(), transfer_id), user=user, wait=False
    )
    client.log.client.hdel(MOVES_KEY, transfer_id)
    return True


def moves_in_flight() -> int:
    """Moves between shards not settled yet (while one is, it counts on two shards)."""
    return int(matcher().log.client.hlen(MOVES_KEY))


def moves_resume(older_than_s: float = RESUME_AFTER_S) -> int:
    """Finish moves a crash interrupted (every step is idempotent). Returns how many ran."""
    redis = matcher().log.client
    resumed = 0
    moves: dict[bytes, bytes] = redis.hgetall(MOVES_KEY)  # type: ignore[assignment]
    for transfer_id, raw in moves.items():
        record = json.loads(raw)
        if time.time() - float(record["at"]) < older_than_s:
            continue
        _drive(transfer_id.decode(), record)
        resumed += 1
    return resumed
