"""Tell the development payout backend what to do for an address (accounts/payouts.py)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.payouts import DEV_OUTCOMES, set_outcome


class Command(BaseCommand):
    help = "Make the dev payout backend succeed, fail, hang or answer slowly for an address."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("address")
        parser.add_argument("outcome", nargs="?", choices=DEV_OUTCOMES)
        parser.add_argument(
            "--clear", action="store_true", help="back to PAYOUT_DEV_OUTCOME for this address"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PAYOUT_BACKEND != "dev":
            raise CommandError(f"PAYOUT_BACKEND is {settings.PAYOUT_BACKEND!r}, not the dev one")
        address: str = options["address"]
        if options["clear"]:
            set_outcome(address, None)
            self.stdout.write(f"{address}: {settings.PAYOUT_DEV_OUTCOME} (the default)")
            return
        if not options["outcome"]:
            raise CommandError(f"give an outcome ({', '.join(DEV_OUTCOMES)}) or --clear")
        set_outcome(address, options["outcome"])
        self.stdout.write(f"{address}: {options['outcome']}")
