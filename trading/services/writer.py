"""The one place an order write's guards are built: ``OrderWriter``.

An order write (place, cancel, cancel all) is one request that sends one command per matcher
shard it touches. Besides the command, its round trip carries the request's guards
(``pipeline.client.SubmitGuards``): the API key's revocation check and the "orders" throttle
count go with the request's first command, the read-your-writes marker and the order's
placeholder with each. So a placement costs one Redis round trip, checks included.

A request that sends no command (refused before it could: a 400, a 404) still has its guards
settled when it ends (``OrderWriter`` is a context manager the views open around parsing and
the service call): its key is checked, then it is counted; a revoked key answers 401, a count
past the limit 429, instead of whatever the request would have answered. As a throttle class
would, before the view ran.
"""

from __future__ import annotations

import dataclasses
from types import TracebackType
from typing import TYPE_CHECKING

from matching.commands import Command
from pipeline.client import Sent, SubmitGuards, matcher

if TYPE_CHECKING:
    from accounts.authentication import DeferredKeyCheck
    from accounts.throttling import OrdersWindow


class OrderWriter:
    """Who sends an order write, and the guards its request has not settled yet.

    ``count``: the request's "orders" throttle window (accounts.throttling.orders_window);
    ``key_check``: its API key's revocation check, deferred by authentication to the command
    (accounts.authentication.DeferredKeyCheck). Either is None when it does not apply (a
    session, a key checked already, no rate set, a caller that is no request)."""

    def __init__(
        self,
        user_id: int,
        *,
        count: OrdersWindow | None = None,
        key_check: DeferredKeyCheck | None = None,
    ) -> None:
        self.user_id = user_id
        self._count = count
        self._key_check = key_check

    def send(
        self,
        shard: str,
        cmd: Command,
        *,
        placeholder: tuple[int, bytes] | None = None,
        more_placeholders: tuple[tuple[int, bytes], ...] = (),
        read_placed: bool | int = False,
    ) -> Sent:
        """Send ``cmd`` with its guards and wait for the matcher's answer.

        The request's first command carries its key check and throttle count. A switched-off
        key: the database decides (Unauthenticated, 401, or the marker outlived a change that
        rolled back and the command is sent again, counted then). Past the limit: nothing was
        sent, RateLimited (429)."""
        count, key_check = self._count, self._key_check
        self._count = self._key_check = None  # settled by this command, whatever it answers
        guards = SubmitGuards(
            writer=self.user_id,
            placeholder=placeholder,
            more_placeholders=more_placeholders,
            read_placed=read_placed,
            rate_limit=count.limit if count else None,
            key_check=key_check.check if key_check else None,
        )
        sent = matcher().send(shard, cmd, guards)
        if sent.switched_off and key_check is not None:
            key_check.confirm()
            sent = matcher().send(shard, cmd, dataclasses.replace(guards, key_check=None))
        if sent.throttled and count is not None:
            raise count.refused()
        return sent

    def check_key(self) -> None:
        """Check the key now, before commands that go without it (funds moved between shards
        for an order, accounts.shard_funds); the order's own command then carries no check."""
        key_check, self._key_check = self._key_check, None
        if key_check is not None:
            key_check.check_now()

    def settle_unsent(self) -> None:
        """For a request that sent no command: check its key, then count it (a refused key is
        not counted)."""
        self.check_key()
        count, self._count = self._count, None
        if count is not None:
            count.count_unsent()

    def __enter__(self) -> OrderWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # A 401 or 429 from here replaces the request's own answer, error or not.
        self.settle_unsent()
