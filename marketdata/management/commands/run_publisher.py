"""``python manage.py run_publisher``: the matcher's events -> WebSocket market data."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from marketdata import groups, seed
from marketdata.publisher import Publisher
from pipeline.client import shard_map
from pipeline.event_reader import EventReader
from pipeline.processes import StopFlag, setup_logging
from pipeline.streams import PUBLISHER_GROUP
from pipeline.wire import connect

log = logging.getLogger("marketdata.run_publisher")


class Command(BaseCommand):
    help = "Publish depth, trades, klines, tickers and private updates from the events streams."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--read-count", type=int, default=200)
        parser.add_argument(
            "--linger-ms",
            type=int,
            default=int(os.environ.get("PUBLISHER_LINGER_MS", "10")),
            help="after a read that was not full, wait this long before the next one "
            "(env PUBLISHER_LINGER_MS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        setup_logging(options["verbosity"])
        stop = StopFlag()
        shards = list(shard_map().shards)
        client = connect(settings.REDIS_URL)
        for shard in shards:
            # The matcher creates the group too; this covers a publisher started first.
            EventReader(client, shard, PUBLISHER_GROUP, "publisher").setup()
        prefix = groups.prefix_for(settings.REDIS_URL)
        state = seed.load_state(client, shards, prefix)
        log.info("publisher: %d markets, checkpoints %s", len(state.markets), state.checkpoints)
        publisher = Publisher(
            settings.REDIS_URL,
            state,
            shards,
            read_count=options["read_count"],
            linger_ms=options["linger_ms"],
        )
        asyncio.run(publisher.run(stop))
