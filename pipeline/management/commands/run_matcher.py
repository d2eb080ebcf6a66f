"""``python manage.py run_matcher [--shard s0 | --markets SOL_USDC,BTC_USDC]``."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import fee_account_id
from common.clock import now_ns
from common.startup_heap import freeze_startup_heap
from matching.build import build_note
from pipeline.client import shard_map
from pipeline.matcher_transport import MatcherTransport
from pipeline.processes import StopFlag, setup_logging
from pipeline.wire import connect
from pipeline.worker import Matcher
from trading.models import EventCheckpoint
from trading.specs import market_specs

log = logging.getLogger("matching.run_matcher")


class Command(BaseCommand):
    help = "Run the matcher for one shard: the single writer of its markets' books and balances."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--shard", help="shard name from MATCHER_SHARDS (default: the first)")
        parser.add_argument("--markets", help="comma-separated symbols; picks their shard")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--snapshot-every", type=int, default=100_000)

    def handle(self, *args: Any, **options: Any) -> None:
        setup_logging(options["verbosity"])
        shard = self._pick_shard(options["shard"], options["markets"])
        # Which engine this process imported: compiled, or pure and why (ENGINE_BUILD).
        log.info("matcher %s: %s", shard, build_note())
        stop = StopFlag()
        # One stable consumer name per shard: after a crash the new process must receive the
        # entries the old one had been delivered but never acked.
        transport = MatcherTransport(connect(settings.REDIS_URL), shard, "matcher")
        matcher = Matcher(
            transport,
            fee_account_id(),
            batch_size=options["batch_size"],
            snapshot_every=options["snapshot_every"],
        )
        matcher.recover()
        owned = [spec for spec in market_specs() if shard_map().owns(shard, spec.symbol)]
        # Market rows are written directly only before a venue's first start (seed_demo);
        # since, they are the persister's record of the engine's market events. A row that
        # differs from the engine while the persister is behind may just lag (an operator's
        # change applied, not recorded yet): pushing it would undo the change.
        recorded = EventCheckpoint.objects.filter(stream=shard).values_list("last_seq", flat=True)
        caught_up = (recorded.first() or 0) >= matcher.engine.seq
        sent = matcher.sync_markets(owned, now_ns(), update=caught_up)
        log.info("matcher %s: %d markets, %d market updates sent", shard, len(owned), sent)
        # The recovered books and the modules: out of the collector's full passes, which
        # would otherwise stop the hot loop for a time growing with the books.
        freeze_startup_heap()
        matcher.run(stop)
        log.info("matcher %s stopped at seq %s", shard, matcher.engine.seq)

    def _pick_shard(self, shard: str | None, markets: str | None) -> str:
        shards = shard_map()
        if markets:
            owners = {shards.for_market(m.strip()) for m in markets.split(",") if m.strip()}
            if len(owners) != 1 or (shard and owners != {shard}):
                raise CommandError(
                    f"--markets {markets} must all belong to one shard in MATCHER_SHARDS"
                    f" ({settings.MATCHER_SHARDS!r}); they map to {sorted(owners)}"
                )
            return owners.pop()
        if shard is None:
            return shards.shards[0]
        if shard not in shards.shards:
            raise CommandError(f"unknown shard {shard!r}; MATCHER_SHARDS has {shards.shards}")
        return shard
