"""``python manage.py resume_persister --shard s0 [--check]``: resume a halted shard's persistence.

A shard's persister halts on an event it cannot write (pipeline/persister.py; the event, its
error and the way out are in the log, in ``/api/v1/health`` and in the admin's event
checkpoints). Fix the cause first (docs/reliability.md, "A poisoned event"), then run this: it
applies the halted entry in a transaction it rolls back, and only if that works clears the halt,
after which the running persister writes every pending entry, each exactly once. ``--check``
only tries. Exit code 1 (and nothing changed) while the entry still fails.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from pipeline.client import shard_map
from pipeline.persister import ResumeRefused, halt_of, resume
from pipeline.wire import connect


class Command(BaseCommand):
    help = "Resume a shard's halted persistence once its failing event applies again."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--shard", action="append", help="shard(s) (default: every halted)")
        parser.add_argument(
            "--check", action="store_true", help="only try the halted entry; change nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        shards = options["shard"] or list(shard_map().shards)
        unknown = set(shards) - set(shard_map().shards)
        if unknown:
            raise CommandError(f"unknown shard(s) {sorted(unknown)}")
        client = connect(settings.REDIS_URL)
        refused = []
        for shard in shards:
            halt = halt_of(shard)
            if halt is not None:
                self.stdout.write(f"{shard}: halted at seq {halt.seq}: {halt.reason}")
            try:
                self.stdout.write(resume(shard, client, check_only=options["check"]))
            except ResumeRefused as exc:
                self.stderr.write(f"{shard}: {exc}")
                refused.append(shard)
        if refused:
            raise CommandError(f"not resumed: {', '.join(refused)} (fix the cause first)")
