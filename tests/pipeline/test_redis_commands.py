"""The Redis side of the project on the oldest server it supports (run on both servers by this
folder's conftest): the version gate, counters that expire, and lag where Redis counts none.

Every Lua script (pipeline/lua/) compiles here on both servers. The submit script, replies,
streams, groups, snapshots, trims, pub/sub and the persister's nudge run on both servers in the
other modules of this folder; orders, cancels, key markers and throttles through the API in the
tests/trading modules marked ``ON_BOTH_REDIS_SERVERS``.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis

from accounts import key_cache, throttling
from matching.commands import CancelAll
from pipeline.client import KeyCheck
from pipeline.matcher_transport import MatcherTransport
from pipeline.scripts import SCRIPTS
from pipeline.transport import CommandLog, RateLimit, SubmitGuards
from pipeline.wire import (
    MIN_REDIS_VERSION,
    RedisTooOld,
    Wire,
    require_supported_server,
    server_version,
)

# Each Lua script (pipeline/lua/) and where it runs on both servers beside compiling here.
SCRIPT_RUNS = {
    "submit": "test_transport.py, and below: rate limit, key check; the ON_BOTH_REDIS_SERVERS "
    "order, cancel and throttle API tests",
}


def test_both_servers_are_supported(rds: redis.Redis) -> None:
    assert server_version(rds)[:2] >= MIN_REDIS_VERSION
    require_supported_server(rds)  # no error


def test_the_embedded_server_is_redis_6_2(embedded_redis: str) -> None:
    # The minimum is what the zero-config run ships: raise both together or neither.
    assert server_version(redis.Redis.from_url(embedded_redis))[:2] == MIN_REDIS_VERSION


class _OldServer:
    def info(self, section: str) -> dict[str, Any]:
        return {"redis_version": "6.0.16"}


def test_an_older_server_is_refused_in_words() -> None:
    with pytest.raises(RedisTooOld, match=r"Redis 6\.0\.16 is too old: .* needs Redis 6\.2"):
        require_supported_server(_OldServer())  # type: ignore[arg-type]


def test_a_request_counter_gets_a_ttl_when_counted(rds: redis.Redis, settings: Any) -> None:
    settings.CACHE_REDIS_URL = settings.REDIS_URL
    rds.delete("throttle-test")
    assert throttling._incr("throttle-test", 60) == 1
    assert throttling._incr("throttle-test", 60) == 2
    (key,) = rds.keys("*throttle-test*")
    assert 0 < rds.ttl(key) <= 61


def test_an_unsent_order_write_counter_gets_a_ttl(rds: redis.Redis) -> None:
    count = throttling.OrdersWindow(RateLimit("ex:throttle:orders:test", 5, 61), 0.0)
    count.count_unsent()
    assert rds.get("ex:throttle:orders:test") == b"1"
    assert 0 < rds.ttl("ex:throttle:orders:test") <= 61


@pytest.mark.parametrize("lean", [False, True], ids=["redis-py", "wire"])
def test_a_rate_limited_submit_leaves_its_counter_expiring(rds: redis.Redis, lean: bool) -> None:
    log = CommandLog(rds, Wire.like(rds) if lean else None)
    limit = RateLimit("ex:{t0}:throttle:test", 10, 61)
    for n in range(3):
        log.submit("t0", CancelAll(f"c{n}", 1, 10, None), SubmitGuards(rate_limit=limit), wait_s=0)
    assert rds.get(limit.key) == b"3"
    assert 0 < rds.ttl(limit.key) <= 61


def test_the_matchers_lag_counts_commands_not_yet_delivered(
    rds: redis.Redis, transport: MatcherTransport
) -> None:
    transport.setup()
    log = CommandLog(rds)
    for n in range(5):
        log.submit("t0", CancelAll(f"c{n}", 1, 10, None), wait_s=0)
    assert log.shard_status("t0")["matcher_lag"] == 5
    delivered = transport.read_batch(2, block_ms=10)
    assert len(delivered) == 2
    assert log.shard_status("t0")["matcher_lag"] == 5  # 3 undelivered + 2 delivered, not acked
    transport.commit_batch([], delivered[-1][0], 0, [], [entry for entry, _ in delivered])
    assert log.shard_status("t0")["matcher_lag"] == 3


@pytest.mark.django_db
def test_a_switched_off_key_stops_its_next_command_on_the_shard(rds: redis.Redis) -> None:
    key_cache.mark_key_off("k-test")
    log = CommandLog(rds)
    done = log.submit(
        "s0",
        CancelAll("c1", 1, 10, None),
        SubmitGuards(key_check=KeyCheck("k-test", 10)),
        wait_s=0.5,
    )
    assert done.switched_off and not done.entry_id


def test_every_lua_script_is_run_on_both_servers() -> None:
    assert set(SCRIPTS) == set(SCRIPT_RUNS)  # a new script names where it runs


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_every_lua_script_compiles_on_the_server(rds: redis.Redis, name: str) -> None:
    assert rds.script_load(SCRIPTS[name].text)
