"""Request throttles: fixed one-period windows counted in Redis, one round trip per check.

DRF's SimpleRateThrottle keeps a pickled list of every request time per client (a get and a set,
and a list of 3,000 timestamps at the order limit); a counter per window is enough here. Scopes
and their rates are REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (env THROTTLE_ANON, THROTTLE_USER,
THROTTLE_SIGNUP, THROTTLE_ORDERS); docs/api.md lists them. The "orders" scope is no throttle
class: an order write is counted by the command it sends (``OrdersWindow``). If Redis fails,
requests are let through: the throttle protects the service, it must not be the reason it is
down.

A counter's key names its window; its TTL (refreshed on every count, since ``EXPIRE ... NX`` is
Redis 7 and the embedded server is 6.2) only removes it one window after its last count.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from common.errors import RateLimited
from pipeline import wire
from pipeline.client import RateLimit
from pipeline.keys import orders_throttle_counter, throttle_counter

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


@dataclass(frozen=True, slots=True)
class OrdersWindow:
    """An order write's count in the "orders" scope (per user; it replaces the "user" scope on
    order placement and cancels), made in the round trip of the command the request sends:
    one blocking call fewer on the order path than a throttle class's own INCR. The counter
    lives in the command log's Redis (``REDIS_URL``), under ``ex:throttle:``, for that reason.
    A request that sends no command (a 400, a 404) is counted by ``count_unsent``. Either way
    every request counts, and one past the limit answers 429 as a throttle class would have
    before the view ran (trading.services.writer.OrderWriter)."""

    limit: RateLimit  # what the command's submit counts (pipeline.client.SubmitGuards)
    ends_at: float  # the window's end, for Retry-After

    def refused(self) -> RateLimited:
        return RateLimited(max(0.0, self.ends_at - time.time()))

    def count_unsent(self) -> None:
        """Count a request that sent no command; raises RateLimited past the limit."""
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
            raise self.refused()


def orders_window(request: Request) -> OrdersWindow | None:
    """The "orders" scope's window for an order write by ``request``'s user; None when it is
    not counted (no user, or no rate set)."""
    user = request.user
    rate = api_settings.DEFAULT_THROTTLE_RATES.get("orders")  # read per call: tests vary it
    if user is None or not user.is_authenticated or not rate:
        return None
    limit, period = parse_rate(str(rate))
    window = int(time.time() // period)
    key = orders_throttle_counter(f"u{user.pk}", window)
    return OrdersWindow(RateLimit(key, limit, period + 1), (window + 1) * period)
