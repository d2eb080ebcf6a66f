"""Deposit sources: where a deposit comes from and who confirms it.

A real venue learns about deposits from a chain watcher or a bank feed, which records the
deposit (``services.deposit_create`` with its own id as transfer id) and confirms it once final
(``services.deposit_confirm``). Here a user asks for a deposit (``POST /api/v1/user/deposit``),
and DEPOSIT_SOURCE says what happens next:

- ``dev`` (the default with DEBUG): a Celery task confirms it about DEPOSIT_DEV_CONFIRM_DELAY_S
  (1 s) later, as a watcher seeing the funds arrive would. Needs a Celery worker: the run
  command starts one.
- ``instant``: confirmed in the request itself, for stacks that run no Celery worker (the
  integration tests' stacks and benchmarks; ``DEPOSITS_AUTO_CONFIRM=1`` is this).
- ``operator`` (the default with DEBUG off): it stays pending until an operator confirms it in
  the admin (audited).
- or the dotted path of a class with the same ``requested`` method.

Whichever confirms, the credit is exactly once: the deposit's transfer id is the engine's
transfer id, and the engine applies a transfer id once.
"""

from __future__ import annotations

from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from accounts.models import Deposit


class DepositSource(Protocol):
    name: str
    hint: str  # what the wallet page tells the user about confirmation

    def requested(self, deposit: Deposit) -> None:
        """A user asked for ``deposit`` (pending, in the request's transaction)."""


class DevDepositSource:
    name = "dev"
    hint = "Demo venue: the exchange confirms a deposit about a second after you make it."

    def requested(self, deposit: Deposit) -> None:
        def confirm_later() -> None:
            from accounts.tasks import confirm_deposit

            confirm_deposit.apply_async(
                (deposit.pk,), countdown=settings.DEPOSIT_DEV_CONFIRM_DELAY_S
            )

        transaction.on_commit(confirm_later, robust=True)  # lost: deposits_sweep confirms it


class InstantDepositSource:
    name = "instant"
    hint = "Demo venue: deposits are confirmed at once and credited within a second."

    def requested(self, deposit: Deposit) -> None:
        from accounts.services import deposit_confirm

        deposit_confirm(deposit)


class OperatorDepositSource:
    name = "operator"
    hint = "An operator confirms each deposit once the funds have arrived."

    def requested(self, deposit: Deposit) -> None:
        pass  # pending until an operator confirms it in the admin


_SOURCES: dict[str, type[DepositSource]] = {
    "dev": DevDepositSource,
    "instant": InstantDepositSource,
    "operator": OperatorDepositSource,
}


def deposit_source() -> DepositSource:
    name = settings.DEPOSIT_SOURCE
    cls = _SOURCES.get(name) or import_string(name)
    source: DepositSource = cls()
    return source
