"""A persister that cannot be poisoned: an event that fails to persist halts its shard's
persistence with the event named (checkpoint row, Redis mirror for health, log), nothing after
it is written or acked, the process keeps running, and after the cause is fixed a resume writes
everything pending exactly once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest
import redis
from django.db import OperationalError

from accounts import ledger
from accounts.models import Asset, Balance, LedgerEntry, User
from accounts.selectors import fee_account_id
from accounts.services import asset_upsert
from matching.commands import Deposit
from pipeline.event_reader import EventReader
from pipeline.matcher_transport import MatcherTransport
from pipeline.persister import Persister, ResumeRefused, halt_of, resume
from pipeline.streams import PERSISTER_GROUP
from pipeline.transport import CommandLog
from pipeline.worker import Matcher
from tests.support.pipeline import clear_id_caches
from tests.support.waiting import wait_until
from trading.models import EventCheckpoint, Market
from trading.specs import market_spec

pytestmark = pytest.mark.django_db(transaction=True)

SHARD = "t0"


def _matcher(rds: redis.Redis, market: Market) -> Matcher:
    matcher = Matcher(MatcherTransport(rds, SHARD, "matcher"), fee_account_id())
    matcher.recover()
    matcher.sync_markets([market_spec(market)], 1)
    return matcher


def _deposit_entries(rds: redis.Redis, matcher: Matcher, *deposits: Deposit) -> None:
    """One events entry per command (the matcher reads them one at a time)."""
    log = CommandLog(rds)
    for cmd in deposits:
        log.submit(SHARD, cmd, wait_s=0)
    while matcher.process(matcher.transport.read_batch(1, 10)):
        pass


class Running:
    def __init__(self, persister: Persister) -> None:
        self.persister = persister
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from django.db import connections

        try:
            self.persister.run(self.stop.is_set)
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            connections.close_all()


@pytest.fixture
def running(rds: redis.Redis) -> Iterator[Running]:
    clear_id_caches()
    runner = Running(Persister(EventReader(rds, SHARD, PERSISTER_GROUP, "persister"), block_ms=20))
    yield runner
    clear_id_caches()  # ZZZ gets an id in one test and none in the next
    runner.stop.set()
    runner.thread.join(timeout=10)
    assert not runner.thread.is_alive()
    assert not runner.errors


def test_a_poisoned_event_halts_the_shard_then_a_resume_writes_it_once(
    rds: redis.Redis,
    markets: dict[str, Market],
    alice: User,
    bob: User,
    running: Running,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given three deposit entries, the second of an asset the database does not list
    matcher = _matcher(rds, markets["SOL_USDC"])
    _deposit_entries(
        rds,
        matcher,
        Deposit("d1", 1, "t-1", alice.pk, "USDC", 10**6, 6),
        Deposit("d2", 2, "t-2", alice.pk, "ZZZ", 5 * 10**6, 6),
        Deposit("d3", 3, "t-3", bob.pk, "SOL", 10**9, 9),
    )
    # (seq 1 is MarketAdded, d1 is 2-3) d2's TransferApplied is 4, its BalanceChanged (ZZZ) 5
    poisoned_seq = 5

    # when the persister runs into it
    with caplog.at_level(logging.ERROR, logger="pipeline.persister"):
        running.thread.start()
        wait_until(lambda: halt_of(SHARD) is not None, timeout=15, what="halted")

    # then the entry before it is written, nothing from it on, and the halt names the event
    halt = halt_of(SHARD)
    assert halt is not None and halt.seq == poisoned_seq
    assert "BalanceChanged seq 5 (command d2)" in halt.reason
    assert "DoesNotExist" in halt.reason
    assert Balance.objects.filter(user=alice, asset__code="USDC").exists()
    assert not Balance.objects.filter(user=bob).exists()
    assert EventCheckpoint.objects.get(stream=SHARD).last_seq == 3
    assert "PERSISTENCE HALTED for shard t0 at event seq 5" in caplog.text
    status = CommandLog(rds).shard_status(SHARD)
    assert status["persister_halted"]["seq"] == "5"
    assert status["persister_lag"] == matcher.engine.seq - 3
    assert running.thread.is_alive()  # no crash, no crash loop
    assert rds.xpending(f"ex:{{{SHARD}}}:events", PERSISTER_GROUP)["pending"] >= 1  # not acked

    # and a resume is refused while the cause is still there, changing nothing
    with pytest.raises(ResumeRefused, match="DoesNotExist"):
        resume(SHARD, rds)
    assert halt_of(SHARD) is not None

    # when the operator repairs (lists the asset) and resumes
    asset_upsert("ZZZ", name="Zed", decimals=6)
    assert "resumed at event seq 5" in resume(SHARD, rds)

    # then everything pending is written, each movement exactly once, and the halt is gone
    wait_until(
        lambda: EventCheckpoint.objects.get(stream=SHARD).last_seq == matcher.engine.seq,
        timeout=15,
        what="caught up",
    )
    assert Balance.objects.get(user=alice, asset__code="ZZZ").available == 5
    assert Balance.objects.get(user=bob, asset__code="SOL").available == 1
    assert LedgerEntry.objects.filter(cause__in=["x:t-1", "x:t-2", "x:t-3"]).count() == 3
    wait_until(lambda: CommandLog(rds).shard_status(SHARD)["persister_halted"] is None)
    assert rds.xpending(f"ex:{{{SHARD}}}:events", PERSISTER_GROUP)["pending"] == 0


def test_a_halt_survives_a_restart_of_the_persister(
    rds: redis.Redis, markets: dict[str, Market], alice: User, running: Running
) -> None:
    matcher = _matcher(rds, markets["SOL_USDC"])
    _deposit_entries(rds, matcher, Deposit("d1", 1, "t-1", alice.pk, "ZZZ", 1, 6))
    running.thread.start()
    wait_until(lambda: halt_of(SHARD) is not None, timeout=15, what="halted")
    running.stop.set()
    running.thread.join(timeout=10)

    # a new persister process starts halted: it writes nothing, and reports the halt again
    rds.delete(f"ex:{{{SHARD}}}:persister-halted")
    again = Persister(EventReader(rds, SHARD, PERSISTER_GROUP, "persister"))
    again.setup()
    assert again.halt is not None and again.halt.seq == 3  # MarketAdded, TransferApplied
    assert CommandLog(rds).shard_status(SHARD)["persister_halted"]["seq"] == "3"
    assert not Asset.objects.filter(code="ZZZ").exists()


def test_outages_and_a_passing_failure_are_retried_without_halting(
    rds: redis.Redis,
    markets: dict[str, Market],
    alice: User,
    running: Running,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a database that drops the connection four times, then refuses once (a race), then
    # works: none of it is the event's fault
    failures = [OperationalError("connection lost")] * 4 + [ValueError("a race")]
    real = ledger.apply_events

    def flaky(*args: object, **kwargs: object) -> None:
        if failures:
            raise failures.pop(0)
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ledger, "apply_events", flaky)
    matcher = _matcher(rds, markets["SOL_USDC"])
    _deposit_entries(rds, matcher, Deposit("d1", 1, "t-1", alice.pk, "USDC", 10**6, 6))

    running.thread.start()
    wait_until(
        lambda: EventCheckpoint.objects.filter(stream=SHARD, last_seq=matcher.engine.seq).exists(),
        timeout=20,
        what="written after the retries",
    )
    assert halt_of(SHARD) is None
    assert LedgerEntry.objects.filter(cause="x:t-1").count() == 1
