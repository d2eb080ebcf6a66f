"""Stream names (what clients subscribe to) and the Redis pub/sub channels that carry them.

Public: ``depth.<SYMBOL>``, ``trade.<SYMBOL>``, ``ticker.<SYMBOL>``, ``kline.<interval>.<SYMBOL>``.
Private: ``orders`` and ``balances``; their channel embeds the authenticated user's id, which a
client never chooses, so a connection can only ever be attached to its own user's channel.

Channels are prefixed with ``md<db>:`` (the Redis database of REDIS_URL): pub/sub ignores
databases, and this keeps two exchanges (or a test run beside a dev stack) on one Redis apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

from marketdata.aggregation import INTERVAL_MS

PRIVATE_STREAMS = frozenset({"orders", "balances"})
_SYMBOL = r"[A-Z0-9]{2,10}_[A-Z0-9]{2,10}"
_PUBLIC_RE = re.compile(rf"^(depth|trade|ticker)\.({_SYMBOL})$")
_KLINE_RE = re.compile(rf"^kline\.([0-9]{{1,2}}[mhdw])\.({_SYMBOL})$")


@dataclass(frozen=True, slots=True)
class Stream:
    name: str
    symbol: str | None  # None for the private streams

    @property
    def private(self) -> bool:
        return self.symbol is None


def parse_stream(name: object) -> Stream | None:
    """The stream ``name`` denotes, or None if it is not a well-formed stream name."""
    if not isinstance(name, str) or len(name) > 40:
        return None
    if name in PRIVATE_STREAMS:
        return Stream(name, None)
    if m := _PUBLIC_RE.match(name):
        return Stream(name, m.group(2))
    if (m := _KLINE_RE.match(name)) and m.group(1) in INTERVAL_MS:
        return Stream(name, m.group(2))
    return None


def prefix_for(redis_url: str) -> str:
    path = urlparse(redis_url).path.strip("/")
    return f"md{path or '0'}:"


def public_channel(prefix: str, stream: str) -> str:
    return f"{prefix}{stream}"


def private_channel(prefix: str, user_id: int, stream: str) -> str:
    return f"{prefix}u:{user_id}:{stream}"


def channel_for(prefix: str, stream: Stream, user_id: int | None) -> str:
    if stream.private:
        if user_id is None:
            raise PermissionError(stream.name)
        return private_channel(prefix, user_id, stream.name)
    return public_channel(prefix, stream.name)
