from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from trading import demo


class Command(BaseCommand):
    help = "Create the demo assets, markets, admin and funded traders (idempotent; local only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even with DEBUG off (creates an admin with a known weak password).",
        )

    def handle(self, *args: Any, force: bool = False, **options: Any) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: seed_demo would create an admin with the password 'admin'. "
                "Use --force if this really is a throwaway environment."
            )
        demo.seed()
        if options["verbosity"] == 0:
            return  # the run command prints the logins in its banner
        self.stdout.write(self.style.SUCCESS("Demo data ready: " + ", ".join(demo.ASSETS)))
        self.stdout.write("Markets: " + ", ".join(m.symbol for m in demo.MARKETS))
        self.stdout.write("Local demo credentials (username / password):")
        for username, password in demo.credentials():
            self.stdout.write(f"  {username} / {password}")
