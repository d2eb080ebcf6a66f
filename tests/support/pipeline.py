"""The real matcher and persister, in threads of the test process, for endpoint tests.

They are the production classes (pipeline.worker.Matcher, pipeline.persister.Persister) on the
real Redis and the real test database; only the process boundary is missing. Tests that need
the process boundary (kills, several shards) use tests/integration with subprocesses.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import redis
from django.conf import settings
from django.db import connections

from accounts.ledger import asset_ref
from accounts.selectors import fee_account_id
from common.clock import now_ns
from pipeline.client import shard_map
from pipeline.event_reader import EventReader
from pipeline.matcher_transport import MatcherTransport
from pipeline.persister import Persister
from pipeline.streams import PERSISTER_GROUP
from pipeline.transport import CommandLog
from pipeline.wire import connect
from pipeline.worker import Matcher
from tests.support.waiting import wait_until
from trading.specs import cached_market, market_specs


def clear_id_caches() -> None:
    """Tests recreate assets and markets with new ids; production never does."""
    cached_market.cache_clear()
    asset_ref.cache_clear()


def flush_exchange_keys(client: redis.Redis) -> None:
    """Drop every key of the exchange (only the test database is ever used here)."""
    keys: Iterator[bytes] = client.scan_iter(match="ex:*", count=1000)
    batch = list(keys)
    if batch:
        client.delete(*batch)


class InProcessPipeline:
    def __init__(self) -> None:
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.matchers: dict[str, Matcher] = {}
        self.persisters: dict[str, Persister] = {}
        self.persisters_paused = threading.Event()
        self.persister_threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def start(self) -> InProcessPipeline:
        client = connect(settings.REDIS_URL)
        flush_exchange_keys(client)
        clear_id_caches()
        fee = fee_account_id()
        specs = market_specs()
        for shard in shard_map().shards:
            matcher = Matcher(MatcherTransport(client, shard, "matcher"), fee, block_ms=20)
            matcher.recover()
            owned = [s for s in specs if shard_map().owns(shard, s.symbol)]
            matcher.sync_markets(owned, now_ns())
            self.matchers[shard] = matcher
            persister = Persister(
                EventReader(client, shard, PERSISTER_GROUP, "persister"), block_ms=20
            )
            self.persisters[shard] = persister
            self._spawn(f"matcher-{shard}", matcher.run)
            self.persister_threads.append(
                self._spawn(f"persister-{shard}", persister.run, self.persisters_paused)
            )
        for shard, matcher in self.matchers.items():
            symbols = [s.symbol for s in specs if shard_map().owns(shard, s.symbol)]
            wait_until(
                partial(_markets_loaded, matcher, symbols),
                timeout=10,
                what=f"markets loaded on {shard}",
            )
        return self

    @contextmanager
    def persisters_stopped(self) -> Iterator[None]:
        """Stop the persisters for the block (the matchers go on), then start them again."""
        self.persisters_paused.set()
        for thread in self.persister_threads:
            thread.join(timeout=10)
            assert not thread.is_alive(), f"{thread.name} did not stop"
        try:
            yield
        finally:
            self.persisters_paused.clear()
            self.persister_threads = [
                self._spawn(f"persister-{shard}", persister.run, self.persisters_paused)
                for shard, persister in self.persisters.items()
            ]

    def nudge(self) -> None:
        """End the persisters' linger now (what a waiting reader does)."""
        CommandLog(connect(settings.REDIS_URL)).nudge_persisters(list(self.persisters))

    def _spawn(
        self,
        name: str,
        loop: Callable[[Callable[[], bool]], None],
        paused: threading.Event | None = None,
    ) -> threading.Thread:
        """Run ``loop`` in a thread until the pipeline stops (or ``paused`` is set)."""

        def should_stop() -> bool:
            return self.stop_event.is_set() or (paused is not None and paused.is_set())

        def run() -> None:
            try:
                loop(should_stop)
            except BaseException as exc:  # surfaced by stop()
                self.errors.append(exc)
            finally:
                connections.close_all()

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)
        return thread

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=10)
        alive = [thread.name for thread in self.threads if thread.is_alive()]
        if alive:
            # A consumer left running would share the next test's streams: fail here instead.
            raise AssertionError(f"pipeline threads did not stop: {alive}")
        if self.errors:
            raise self.errors[0]


def _markets_loaded(matcher: Matcher, symbols: list[str]) -> bool:
    return all(matcher.engine.market(symbol) is not None for symbol in symbols)
