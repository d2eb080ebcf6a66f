"""``python manage.py run_publisher``: the matcher's events -> WebSocket market data."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from marketdata import groups, seed
from marketdata.publisher import Publisher
from matching.client import shard_map
from matching.management.commands._process import StopFlag, setup_logging
from matching.transport import PUBLISHER_GROUP, EventReader, connect

log = logging.getLogger("marketdata.run_publisher")


class Command(BaseCommand):
    help = "Publish depth, trades, klines, tickers and private updates from the events streams."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--read-count", type=int, default=200)

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
        publisher = Publisher(settings.REDIS_URL, state, shards, read_count=options["read_count"])
        asyncio.run(publisher.run(stop))
