"""API keys (with their users) cached per process; revocation is seen at once through Redis.

Every signed request needs its key and the key's user. Reading them from PostgreSQL cost about
0.25 ms of CPU per request between the web process and the database (docs/performance.md), on
every order. Keys change rarely, and only in one direction that matters: revoked, or their user
deactivated. So each process keeps the rows it read for ``API_KEY_CACHE_TTL_S`` and, on every
hit, asks Redis in one MGET whether the key or its user was switched off since
(``mark_key_off`` / ``mark_user_off``). While a marker exists, the key is read from the
database on every request and nothing read then is cached; the marker is written before the
change commits (a marker for a change that rolls back costs only those reads) and outlives
every cache entry that could predate it (twice the TTL). So a revoked key is refused from the
next request on, by every process. If Redis cannot answer, the database is asked instead.

An order write does not pay that MGET's round trip (about an eighth of the web process's CPU
per order, docs/performance.md): each marker has a copy on every matcher shard, in the command
log's Redis and slot, and the submit that sends the write's command refuses to append it while
a copy exists (``find_key(defer_check=True)``; accounts.authentication.DeferredKeyCheck). The
database again has the final word: a refused submit reads the key there, and answers 401 or
sends again.

Cached are the rows, not model instances: each request gets its own instances, so no two
threads ever share a mutable ``User``.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, models
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.models import ApiKey, User
from pipeline import wire
from pipeline.client import shard_map
from pipeline.keys import ShardKeys, shard_keys
from pipeline.keys import key_off_marker as _key_marker
from pipeline.keys import user_off_marker as _user_marker
from pipeline.wire import RedisError, ResponseError, Wire

log = logging.getLogger(__name__)

_MAX_ENTRIES = 50_000  # a bound, not an LRU: past it the cache starts again from empty
_lock = threading.Lock()
_rows: dict[str, tuple[float, tuple[Any, ...]]] = {}  # key id -> (loaded at, row)


def _wire() -> Wire:
    return wire.shared(settings.CACHE_REDIS_URL)


def _columns(model: type[models.Model], alias: str) -> tuple[list[str], str]:
    fields = list(model._meta.concrete_fields)
    names = [f.attname for f in fields]
    return names, ", ".join(f'{alias}."{f.column}"' for f in fields)


@functools.cache
def _key_query() -> tuple[str, list[str], list[str], int]:
    key_names, key_cols = _columns(ApiKey, "k")
    user_names, user_cols = _columns(User, "u")
    # Only names from the models' metadata are interpolated; the key id is a parameter.
    sql = (
        f"SELECT {key_cols}, {user_cols} "  # noqa: S608
        f'FROM "{ApiKey._meta.db_table}" k JOIN "{User._meta.db_table}" u '
        f'ON u."{User._meta.pk.column}" = k."{ApiKey._meta.get_field("user").column}" '
        f'WHERE k."{ApiKey._meta.get_field("key_id").column}" = %s'
    )
    return sql, key_names, user_names, key_names.index("user_id")


@functools.cache
def _datetime_columns() -> tuple[int, ...]:
    fields = [*ApiKey._meta.concrete_fields, *User._meta.concrete_fields]
    return tuple(i for i, f in enumerate(fields) if isinstance(f, models.DateTimeField))


def _load(key_id: str) -> tuple[Any, ...] | None:
    """The key's and its user's columns, in one query written out (the ORM's compilation of
    the same ``select_related`` cost more than the query itself)."""
    sql, _, _, _ = _key_query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [key_id])
        row = cursor.fetchone()
    if row is None:
        return None
    if connection.vendor == "postgresql":
        return tuple(row)  # psycopg returns aware datetimes already
    # Elsewhere (SQLite) the raw cursor returns what the ORM's converters would have turned
    # into aware datetimes: naive UTC values, or text.
    values = list(row)
    for i in _datetime_columns():
        value = values[i]
        if isinstance(value, str):
            value = parse_datetime(value)
        if isinstance(value, datetime) and timezone.is_naive(value):
            value = value.replace(tzinfo=UTC)
        values[i] = value
    return tuple(values)


def markers_switched_off(key_id: str, user_id: int) -> bool:
    """True if a marker says so, or if Redis cannot tell (then the database decides)."""
    try:
        [found] = _wire().call(("MGET", _key_marker(key_id), _user_marker(user_id)))
        return not isinstance(found, list) or any(found)
    except RedisError:
        log.warning("API key markers unavailable; reading keys from the database")
        return True


def find_key(key_id: str, *, defer_check: bool = False) -> tuple[ApiKey | None, bool]:
    """The key ``key_id`` with its user attached (fresh instances), or None if unknown; and
    whether its markers are still to be checked. A cache hit reads them (one MGET) unless
    ``defer_check``: then it says so (True), and the caller checks them with the command it
    sends (its submit refuses a switched-off key, ``KeyCheck``), or with
    ``markers_switched_off`` if it sends none."""
    user_at = _key_query()[3]
    now = time.monotonic()
    hit = _rows.get(key_id)
    row: tuple[Any, ...] | None
    unchecked = False
    if hit is not None and now - hit[0] < settings.API_KEY_CACHE_TTL_S:
        row = hit[1]
        if defer_check:
            unchecked = True
        elif markers_switched_off(key_id, row[user_at]):
            row = _load(key_id)  # the database has the final word on a changed key
    else:
        row = _load(key_id)
        if row is not None:
            with _lock:
                if len(_rows) >= _MAX_ENTRIES:
                    _rows.clear()
                _rows[key_id] = (now, row)
    if row is None:
        return None, False
    return _instances(row), unchecked


def load_key(key_id: str) -> ApiKey | None:
    """The key and its user as the database has them now (a marker was seen)."""
    row = _load(key_id)
    return None if row is None else _instances(row)


def _instances(row: tuple[Any, ...]) -> ApiKey:
    _, key_names, user_names, _ = _key_query()
    n = len(key_names)
    api_key = ApiKey.from_db(connection.alias, key_names, row[:n])
    api_key.user = User.from_db(connection.alias, user_names, row[n:])
    return api_key


def _mark(name: str, on_shards: Callable[[ShardKeys], str]) -> None:
    """Write the marker ``name`` for the MGET of reads, and its copy on every matcher shard
    (``on_shards``) for the submit of writes that deferred the check."""
    ttl = max(1, 2 * int(settings.API_KEY_CACHE_TTL_S) + 1)
    writes: list[tuple[Wire, list[tuple[Any, ...]]]] = [
        (_wire(), [("SET", name, b"1", "EX", ttl)]),
        (
            wire.shared(settings.REDIS_URL),
            [("SET", on_shards(shard_keys(s)), b"1", "EX", ttl) for s in shard_map().shards],
        ),
    ]
    for target, commands in writes:
        try:
            for reply in target.call(*commands):
                if isinstance(reply, Exception):
                    raise ResponseError(str(reply))
        except RedisError:
            # Without the marker another process may accept the key until its entry expires
            # (API_KEY_CACHE_TTL_S). Say so loudly; the change itself goes ahead.
            log.exception(
                "could not publish %s: caches may accept it for up to the cache TTL", name
            )


def mark_key_off(key_id: str) -> None:
    """Before ``key_id`` is revoked: every process stops trusting its cached copy."""
    _mark(_key_marker(key_id), lambda keys: keys.key_off(key_id))


def mark_user_off(user_id: int) -> None:
    """Before (or as) a user is deactivated."""
    _mark(_user_marker(user_id), lambda keys: keys.user_off(user_id))
