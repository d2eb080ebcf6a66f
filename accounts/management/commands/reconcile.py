"""Run one reconciliation now (the beat job does it every RECONCILE_EVERY_S) and print it."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from accounts import reconciliation


class Command(BaseCommand):
    help = "Compare the engine, the balances, the ledger and the transfers per asset, now."

    def handle(self, *args: Any, **options: Any) -> None:
        run = reconciliation.run()
        self.stdout.write(f"reconciliation {run.pk}: {run.status}")
        if run.message:
            self.stdout.write(run.message)
        if options["verbosity"] > 1:
            self.stdout.write(json.dumps(run.details, indent=2, sort_keys=True))
        if run.status == "mismatch":
            raise CommandError("the sources differ: see the run in the admin")
