"""Request throttles: fixed one-period windows counted in Redis, one round trip per check.

DRF's SimpleRateThrottle keeps a pickled list of every request time per client (a get and a set,
and a list of 3,000 timestamps at the order limit); a counter per window is enough here. Scopes
and their rates are REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (env THROTTLE_ANON, THROTTLE_USER,
THROTTLE_SIGNUP, THROTTLE_ORDERS); docs/api.md lists them. If Redis fails, requests are let
through: the throttle protects the service, it must not be the reason it is down.

A counter's key names its window; its TTL (refreshed on every count, since ``EXPIRE ... NX`` is
Redis 7 and the embedded server is 6.2) only removes it one window after its last count.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, NoReturn

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from pipeline import wire
from pipeline.client import RateLimit
from pipeline.keys import throttle_counter

if TYPE_CHECKING:  # rest_framework.views imports this module through the settings
    from rest_framework.views import APIView

log = logging.getLogger(__name__)

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "120/min" -> (120, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[0]]


class WindowThrottle(BaseThrottle):
    scope = ""

    def __init__(self) -> None:
        self.wait_s: float | None = None

    def ident(self, request: Request, view: APIView) -> str | None:
        """Who is counted; None: this throttle does not apply."""
        user = request.user
        if user is not None and user.is_authenticated:
            return f"u{user.pk}"
        return f"a{self.get_ident(request)}"

    def allow_request(self, request: Request, view: APIView) -> bool:
        who = self.ident(request, view)
        if who is None:
            return True
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)  # read per call: tests vary it
        if not rate:
            return True
        limit, period = parse_rate(str(rate))
        now = time.time()
        window = int(now // period)
        try:
            count = _incr(throttle_counter(self.scope, who, window), period)
        except Exception:  # fail open, see the module docstring
            log.warning("throttle %s unavailable", self.scope, exc_info=True)
            return True
        if count <= limit:
            return True
        self.wait_s = (window + 1) * period - now
        return False

    def wait(self) -> float | None:
        return self.wait_s


def _incr(key: str, period: int) -> int:
    backend: Any = caches["default"]  # the backend itself (``cache`` is a proxy to it)
    if not isinstance(backend, RedisCache):  # a test may swap the backend: add + incr
        backend.add(key, 0, period + 1)
        return int(backend.incr(key))
    # One round trip on the hot-path client (pipeline/wire.py); Django's cache API would
    # build a new redis.Redis on every get_client() and pickle the counter.
    full = backend.make_and_validate_key(key)
    count, _ = wire.shared(settings.CACHE_REDIS_URL).call(
        ("INCR", full), ("EXPIRE", full, period + 1)
    )
    if isinstance(count, Exception):
        raise count
    return int(count)


class AnonThrottle(WindowThrottle):
    """Unauthenticated requests, per client IP."""

    scope = "anon"

    def ident(self, request: Request, view: APIView) -> str | None:
        if request.user is not None and request.user.is_authenticated:
            return None
        return f"a{self.get_ident(request)}"


class UserThrottle(WindowThrottle):
    """Authenticated requests, per user (all of a user's keys and sessions together)."""

    scope = "user"

    def ident(self, request: Request, view: APIView) -> str | None:
        if request.user is not None and request.user.is_authenticated:
            return f"u{request.user.pk}"
        return None


class SignupThrottle(WindowThrottle):
    """Account creation, per client IP."""

    scope = "signup"

    def ident(self, request: Request, view: APIView) -> str | None:
        return f"a{self.get_ident(request)}"


class OrdersThrottle(WindowThrottle):
    """Order placement and cancels, per user; replaces the user scope on those endpoints.

    Counted in the round trip that sends the request's command (``CommandCount``), not in one
    of its own: one blocking call fewer on the order path. The counters live in the command
    log's Redis (``REDIS_URL``) for that reason, under ``ex:throttle:``.
    """

    scope = "orders"

    def allow_request(self, request: Request, view: APIView) -> bool:
        who = self.ident(request, view)
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if who is None or not rate:
            return True
        limit, period = parse_rate(str(rate))
        window = int(time.time() // period)
        request.command_count = CommandCount(  # type: ignore[attr-defined]
            RateLimit(f"ex:throttle:{self.scope}:{who}:{window}", limit, period + 1),
            (window + 1) * period,
        )
        return True


class CommandCount:
    """An order write's throttle count, made by the command's own submit (``take``) or, when
    the request ends before sending one (a 400, a 404), by ``count_unsent``; either way every
    request counts, and one past the limit answers 429 as before the view ran."""

    def __init__(self, limit: RateLimit, window_ends_at: float) -> None:
        self.limit = limit
        self.window_ends_at = window_ends_at
        self.counted = False

    def take(self) -> RateLimit | None:
        """The limit for the first command the request sends; None for the next ones."""
        if self.counted:
            return None
        self.counted = True
        return self.limit

    def refuse(self) -> NoReturn:
        raise Throttled(wait=max(0.0, self.window_ends_at - time.time()))

    def count_unsent(self) -> None:
        """Count a request that sent no command; raises Throttled past the limit."""
        if self.counted:
            return
        self.counted = True
        key = self.limit.key
        try:
            count, _ = wire.shared(settings.REDIS_URL).call(
                ("INCR", key), ("EXPIRE", key, self.limit.ttl_s)
            )
            if isinstance(count, Exception):
                raise count
        except Exception:  # fail open, see the module docstring
            log.warning("throttle orders unavailable", exc_info=True)
            return
        if int(count) > self.limit.limit:
            self.refuse()


def command_count(request: Request) -> CommandCount | None:
    """The request's pending throttle count (OrdersThrottle), if it has one."""
    found: CommandCount | None = getattr(request, "command_count", None)
    return found
