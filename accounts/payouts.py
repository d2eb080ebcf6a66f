"""Payout backends: what sends an approved withdrawal's funds out of the venue.

The contract a backend keeps (``PayoutBackend``):

- ``send(request)`` pays ``request.amount`` of ``request.asset`` to ``request.address`` and says
  what became of it: ``paid`` (with the transaction id), ``failed`` (nothing left, with why) or
  ``pending`` (sent, outcome not known yet). It is **idempotent by ``request.reference``** (the
  withdrawal's transfer id): sending the same reference again returns the first outcome and
  never pays twice. Real custody APIs take such a key (an external or client transfer id). That
  is what lets a task that died mid-send be run again.
- It raises ``PayoutUnavailable`` only when it knows nothing was sent (connection refused,
  a 503 before the request was accepted): the task then retries with a backoff. Any other
  exception leaves the outcome unknown; the withdrawal stays ``processing`` until ``status``
  says what happened, or an operator does.
- ``status(reference)`` looks a payout up: ``paid``, ``failed``, or ``pending`` (unknown to the
  backend counts as ``pending``: it may still arrive).

PAYOUT_BACKEND picks one: ``dev`` (below, the default with DEBUG), ``manual`` (nothing is sent
automatically: an operator pays and resolves each withdrawal in the admin; the default with
DEBUG off), or the dotted path of a class.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from pipeline.keys import PAYOUT_DEV_OUTCOMES, payout_dev_record
from pipeline.wire import Redis, RedisError, connect

PayoutState = Literal["paid", "failed", "pending"]


@dataclass(frozen=True)
class PayoutRequest:
    reference: str  # the withdrawal's transfer id: the idempotency key
    asset: str
    amount: str  # decimal string, exact
    address: str


@dataclass(frozen=True)
class PayoutResult:
    state: PayoutState
    txid: str = ""
    error: str = ""


class PayoutUnavailable(Exception):
    """Nothing was sent: the send may be retried."""


class PayoutBackend(Protocol):
    name: str

    def send(self, request: PayoutRequest) -> PayoutResult: ...

    def status(self, reference: str) -> PayoutResult: ...


class ManualPayoutBackend:
    """No automatic payout: an operator pays from the venue's wallet and resolves the
    withdrawal in the admin (it times out into ``timed_out`` for them)."""

    name = "manual"

    def send(self, request: PayoutRequest) -> PayoutResult:
        return PayoutResult("pending")

    def status(self, reference: str) -> PayoutResult:
        return PayoutResult("pending")


DEV_OUTCOMES = ("succeed", "fail", "hang", "slow")


class DevPayoutBackend:
    """Development and tests: pays nobody, returns a transaction id after PAYOUT_DEV_DELAY_S.

    What it does per address is set in Redis (``set_outcome``, or
    ``python manage.py payout_dev ADDRESS fail``), else PAYOUT_DEV_OUTCOME:

    - ``succeed``: paid after the delay;
    - ``slow``: paid at once, answered after PAYOUT_DEV_SLOW_S (a worker killed meanwhile);
    - ``fail``: failed (``address_refused``) after the delay;
    - ``hang``: never answers (blocks up to PAYOUT_DEV_HANG_S; the task's time limit ends it)
      and never pays.

    Each payout is recorded under its reference, with how many times money left for it
    (``payments``, at most 1): a second send answers the record.
    """

    name = "dev"
    OUTCOMES_KEY = PAYOUT_DEV_OUTCOMES
    RECORD_TTL_S = 30 * 24 * 3600

    def __init__(self) -> None:
        self.redis = _redis()

    @classmethod
    def record_key(cls, reference: str) -> str:
        return payout_dev_record(reference)

    def send(self, request: PayoutRequest) -> PayoutResult:
        try:
            known = self._record(request.reference)
            if known is not None and known.state != "pending":
                return known
            outcome = self._outcome(request.address)
        except RedisError as exc:
            raise PayoutUnavailable(str(exc)) from exc
        if outcome == "hang":
            self._store(request.reference, "pending")
            deadline = time.monotonic() + settings.PAYOUT_DEV_HANG_S
            while time.monotonic() < deadline:  # the task's soft time limit interrupts this
                time.sleep(0.1)
            return PayoutResult("pending")
        if outcome == "fail":
            time.sleep(settings.PAYOUT_DEV_DELAY_S)
            self._store(request.reference, "failed", error="address_refused")
            return PayoutResult("failed", error="address_refused")
        # The money leaves now; the answer comes after the delay (a worker killed during it
        # leaves a paid payout the withdrawal does not know about: ``status`` tells).
        txid = "dev-" + hashlib.sha256(request.reference.encode()).hexdigest()[:40]
        self._store(request.reference, "paid", txid=txid, payment=True)
        time.sleep(settings.PAYOUT_DEV_SLOW_S if outcome == "slow" else settings.PAYOUT_DEV_DELAY_S)
        return PayoutResult("paid", txid=txid)

    def status(self, reference: str) -> PayoutResult:
        return self._record(reference) or PayoutResult("pending")

    def payments(self, reference: str) -> int:
        return int(self.redis.hget(self.record_key(reference), "payments") or 0)

    def _outcome(self, address: str) -> str:
        chosen = self.redis.hget(self.OUTCOMES_KEY, address)
        outcome = chosen.decode() if isinstance(chosen, bytes) else settings.PAYOUT_DEV_OUTCOME
        return outcome if outcome in DEV_OUTCOMES else "succeed"

    def _record(self, reference: str) -> PayoutResult | None:
        raw: dict[bytes, bytes] = self.redis.hgetall(self.record_key(reference))  # type: ignore[assignment]
        if not raw:
            return None
        state = raw[b"state"].decode()
        if state not in ("paid", "failed", "pending"):
            return None
        return PayoutResult(
            state,  # type: ignore[arg-type]
            txid=raw.get(b"txid", b"").decode(),
            error=raw.get(b"error", b"").decode(),
        )

    def _store(
        self, reference: str, state: str, *, txid: str = "", error: str = "", payment: bool = False
    ) -> None:
        key = self.record_key(reference)
        pipe = self.redis.pipeline()
        pipe.hset(key, mapping={"state": state, "txid": txid, "error": error})
        if payment:
            pipe.hincrby(key, "payments", 1)
        pipe.expire(key, self.RECORD_TTL_S)
        pipe.execute()


def set_outcome(address: str, outcome: str | None) -> None:
    """What the dev backend does for ``address`` (None: back to PAYOUT_DEV_OUTCOME)."""
    client = _redis()
    if outcome is None:
        client.hdel(DevPayoutBackend.OUTCOMES_KEY, address)
        return
    if outcome not in DEV_OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(DEV_OUTCOMES)}")
    client.hset(DevPayoutBackend.OUTCOMES_KEY, address, outcome)


_BACKENDS = {"dev": DevPayoutBackend, "manual": ManualPayoutBackend}


def backend() -> PayoutBackend:
    name = settings.PAYOUT_BACKEND
    cls: Any = _BACKENDS.get(name) or import_string(name)
    instance: PayoutBackend = cls()
    return instance


@cache
def _redis_for(url: str) -> Redis:
    return connect(url, timeout_s=5)


def _redis() -> Redis:
    return _redis_for(settings.REDIS_URL)
