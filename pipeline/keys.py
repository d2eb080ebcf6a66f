"""Every Redis key of the project, by name: nothing outside this module spells a key.

Per matcher shard (``{s}`` is a Redis Cluster hash tag, so every key of one shard lives in one
slot and a shard's batch can be one MULTI/EXEC); ``ShardKeys`` holds them:

- ``ex:{s}:commands``  stream; each entry ``{"c": msgpack(encoded command), "r": reply flag}``.
  The durable log (``pipeline.transport.CommandLog``).
- ``ex:{s}:events``    stream; one entry per matcher batch ``{"e": msgpack([encoded events]),
  "first_seq", "last_seq", "cmd_last"}``. ``cmd_last`` is the id of the last command the batch
  covers, which is how a restarted matcher knows which commands already have their events out.
- ``ex:{s}:reply:<command_id>``  list; the encoded events of one command, for the waiting caller.
- ``ex:{s}:snapshot``  string; msgpack ``{"cmd_id", "seq", "engine"}``.
- ``ex:{s}:progress``  hash ``{"seq", "cmd_last"}``: the matcher's last committed batch, written
  in the same transaction as that batch (the events stream may be trimmed; this never is).
- ``ex:{s}:depth:<symbol>`` the book's top levels after the last batch that changed it.
- ``ex:{s}:heartbeat`` the matcher's last seq, expiring a few seconds after it stops.
- ``ex:{s}:persisted`` hash ``{"seq", "cmd_id"}``: how far the persister has committed.
- ``ex:{s}:persister-halted`` hash: the event the shard's persister halted on, for /health.
- ``ex:{s}:rw:<user>``, ``ex:{s}:pending:<user>``: read-your-writes bookkeeping.
- ``ex:{s}:persist-now`` a read waiting for the persister cuts its linger short.
- ``ex:{s}:placed:<user>`` the user's open orders as placed, for cancel replies.
- ``ex:{s}:auth-off:k:<key>``, ``ex:{s}:auth-off:u:<user>``: switched-off API keys and users,
  checked by the order submit (``accounts.key_cache``).

Not per shard:

- ``auth:off:k:<key>``, ``auth:off:u:<user>`` (cache Redis): the same markers for reads
  (``accounts.key_cache``).
- ``throttle:<scope>:<who>:<window>`` (cache Redis, under Django's cache key prefix) and
  ``ex:throttle:orders:<who>:<window>`` (command log Redis): request counters
  (``accounts.throttling``).
- ``ex:moves``: moves of funds between shards in flight (``accounts.shard_funds``).
- ``payout-dev:outcomes``, ``payout-dev:tx:<reference>``: the development payout backend's
  state (``accounts.payouts.DevPayoutBackend``).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class ShardKeys:
    shard: str
    commands: str
    events: str
    snapshot: str
    progress: str
    persisted: str
    heartbeat: str

    def reply(self, command_id: str) -> str:
        return f"ex:{{{self.shard}}}:reply:{command_id}"

    def depth(self, symbol: str) -> str:
        """String: msgpack [last_update_id, bids, asks] of ``symbol``'s book (top levels)."""
        return f"ex:{{{self.shard}}}:depth:{symbol}"

    def writes(self, user: int) -> str:
        """Hash: ``last``, the id of ``user``'s newest command on this shard (the submit sets
        it); ``touched``, the last command of the newest batch that changed ``user``'s orders
        or balances on someone else's command (a fill of a resting order; the matcher sets it
        in that batch's commit). A private read waits for both (read-your-writes)."""
        return f"ex:{{{self.shard}}}:rw:{user}"

    def pending(self, user: int) -> str:
        """Hash: order id -> placeholder JSON, until the persister writes the order."""
        return f"ex:{{{self.shard}}}:pending:{user}"

    def placed(self, user: int) -> str:
        """Hash: order id -> the order as placed (the placeholder JSON), until the persister
        has written the order's end: what a cancel's reply shows without reading Postgres."""
        return f"ex:{{{self.shard}}}:placed:{user}"

    def key_off(self, key_id: str) -> str:
        """String, while it lives: API key ``key_id`` was switched off (revoked); a submit that
        names the key refuses to append (accounts.key_cache, "deferred check")."""
        return f"ex:{{{self.shard}}}:auth-off:k:{key_id}"

    def user_off(self, user: int) -> str:
        """String, while it lives: ``user`` was switched off (deactivated); as ``key_off``."""
        return f"ex:{{{self.shard}}}:auth-off:u:{user}"

    @property
    def persist_now(self) -> str:
        """List of at most one element: pushed by a read that waits for the persister, which
        stops lingering when it pops it (read-your-writes at no linger cost)."""
        return f"ex:{{{self.shard}}}:persist-now"

    @property
    def persister_halted(self) -> str:
        """Hash, while the shard's persister is halted on an event it cannot write: that
        event (``pipeline.persister``, "poisoned"); /health reports it."""
        return f"ex:{{{self.shard}}}:persister-halted"


def shard_keys(shard: str) -> ShardKeys:
    base = f"ex:{{{shard}}}"
    return ShardKeys(
        shard=shard,
        commands=f"{base}:commands",
        events=f"{base}:events",
        snapshot=f"{base}:snapshot",
        progress=f"{base}:progress",
        heartbeat=f"{base}:heartbeat",
        persisted=f"{base}:persisted",
    )


def key_off_marker(key_id: str) -> str:
    """String, while it lives (cache Redis): API key ``key_id`` was switched off."""
    return f"auth:off:k:{key_id}"


def user_off_marker(user_id: int) -> str:
    """String, while it lives (cache Redis): user ``user_id`` was switched off."""
    return f"auth:off:u:{user_id}"


def throttle_counter(scope: str, who: str, window: int) -> str:
    """Counter of ``who``'s requests of ``scope`` in fixed window number ``window`` (cache
    Redis, where Django's cache adds its key prefix)."""
    return f"throttle:{scope}:{who}:{window}"


def orders_throttle_counter(who: str, window: int) -> str:
    """The "orders" scope's counter, in the command log's Redis: the submit script counts it
    in the command's own round trip (accounts.throttling)."""
    return f"ex:throttle:orders:{who}:{window}"


# Hash: transfer id -> JSON of a move of funds between shards, until it has settled.
MOVES = "ex:moves"

# The development payout backend: address -> forced outcome, and one hash per payout.
PAYOUT_DEV_OUTCOMES = "payout-dev:outcomes"


def payout_dev_record(reference: str) -> str:
    return f"payout-dev:tx:{reference}"
