"""``python manage.py run_persister [--shard s0]`` (default: every shard, one thread each)."""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from pipeline.client import shard_map
from pipeline.event_reader import EventReader
from pipeline.persister import Persister, PersisterError
from pipeline.processes import StopFlag, setup_logging
from pipeline.streams import PERSISTER_GROUP
from pipeline.wire import connect


class Command(BaseCommand):
    help = "Write the matcher's events to Postgres, exactly once per event."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--shard", action="append", help="shard(s) to persist (default all)")
        parser.add_argument("--batch-entries", type=int, default=200)
        parser.add_argument(
            "--linger-ms",
            type=int,
            default=int(os.environ.get("PERSISTER_LINGER_MS", "50")),
            help="wait up to this long for more events before a write, unless a reader waits"
            " (env PERSISTER_LINGER_MS)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        setup_logging(options["verbosity"])
        shards = options["shard"] or list(shard_map().shards)
        unknown = set(shards) - set(shard_map().shards)
        if unknown:
            raise CommandError(f"unknown shard(s) {sorted(unknown)}")
        stop = StopFlag()
        failed: list[str] = []
        threads = [
            threading.Thread(
                target=self._run_one,
                args=(shard, options["batch_entries"], options["linger_ms"], stop, failed),
                name=shard,
            )
            for shard in shards
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failed:
            # Exit non-zero: the run command's supervisor stops the venue, a production one
            # restarts us (the checkpoint makes that safe). An event that fails to persist does
            # not get here: its shard halts and this process stays up (docs/reliability.md).
            raise CommandError(f"persister failed for shard(s) {failed}")

    @staticmethod
    def _run_one(
        shard: str, batch_entries: int, linger_ms: int, stop: StopFlag, failed: list[str]
    ) -> None:
        try:
            reader = EventReader(connect(settings.REDIS_URL), shard, PERSISTER_GROUP, "persister")
            Persister(reader, batch_entries=batch_entries, linger_ms=linger_ms).run(stop)
        except PersisterError as exc:  # a refusal to explain, not a bug to trace
            logging.getLogger("matching.run_persister").error("persister %s: %s", shard, exc)
            failed.append(shard)
            stop.set()
        except BaseException:
            logging.getLogger("matching.run_persister").exception("persister %s died", shard)
            failed.append(shard)
            stop.set()
            raise
        finally:
            connections.close_all()
