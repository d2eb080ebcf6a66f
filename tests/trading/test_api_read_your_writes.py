"""Private reads reflect every command the matcher has applied that changed the caller (its own
writes, and other users' orders that filled its resting ones), and never pass an older state
off as current.

Past READ_YOUR_WRITES_TIMEOUT a read answers 503 ``writes_not_persisted`` when the matcher has
applied commands the persister has not committed; when only the matcher is behind, the read
goes on and shows the unapplied orders as pending (tests/trading/test_api_order_pending.py).
"""

from decimal import Decimal

import pytest

from tests.api import Api
from tests.factories import make_user
from tests.support.embedded_redis import ON_BOTH_REDIS_SERVERS

pytestmark = [*ON_BOTH_REDIS_SERVERS, pytest.mark.django_db(transaction=True)]

PRIVATE_READS: list[tuple[str, dict[str, object]]] = [
    ("/api/v1/user/balances", {}),
    ("/api/v1/orders", {}),
    ("/api/v1/user/orders", {}),
    ("/api/v1/user/trades", {}),
]


@pytest.fixture
def alice_api(pipeline, settings):
    """Alice, funded (with the usual wait: a loaded machine's persister may take longer than
    the short one), then reads that give up after 0.2 s."""
    alice = Api.for_user(make_user("alice")).fund(USDC="1000")
    settings.READ_YOUR_WRITES_TIMEOUT = 0.2
    return alice


def test_reads_answer_503_while_an_applied_write_is_not_persisted(pipeline, alice_api, settings):
    with pipeline.persisters_stopped():
        placed = alice_api.place(side="buy", price="10", quantity="2")
        assert placed.status_code == 201  # the matcher applied it: 20 USDC are held
        order_id = placed.json()["order_id"]

        reads = [*PRIVATE_READS, ("/api/v1/order", {"symbol": "SOL_USDC", "order_id": order_id})]
        for path, params in reads:
            resp = alice_api.get(path, **params)
            assert resp.status_code == 503, (path, resp.content)
            assert resp["Retry-After"] == "1"
            error = resp.json()["error"]
            assert (error["code"], error["details"]) == ("writes_not_persisted", {"retry_after": 1})

    # once the persister has caught up, the same reads show the write
    settings.READ_YOUR_WRITES_TIMEOUT = 10  # the restarted persister's first batch may be slow
    available, locked = alice_api.balances()["USDC"]
    assert locked >= 20 and available + locked == 1000
    got = alice_api.get("/api/v1/order", symbol="SOL_USDC", order_id=order_id)
    assert (got.status_code, got.json()["status"]) == (200, "new")


def test_another_users_reads_are_not_held_up_by_a_lagging_persister(pipeline, alice_api):
    # bob has no orders: nothing alice does changes what his reads show
    bob_api = Api.for_user(make_user("bob"))
    with pipeline.persisters_stopped():
        assert alice_api.place(side="buy", price="10", quantity="2").status_code == 201
        for path, params in PRIVATE_READS:
            resp = bob_api.get(path, **params)
            assert resp.status_code == 200, (path, resp.content)


def test_a_makers_reads_answer_503_while_the_takers_fill_is_not_persisted(
    pipeline, alice_api, settings
):
    # given alice's resting buy, recorded, and bob with SOL
    settings.READ_YOUR_WRITES_TIMEOUT = 10
    resting = alice_api.place(side="buy", price="10", quantity="2").json()
    alice_api.get("/api/v1/order", symbol="SOL_USDC", order_id=resting["order_id"])
    bob_api = Api.for_user(make_user("bob")).fund(SOL="5")
    settings.READ_YOUR_WRITES_TIMEOUT = 0.2
    with pipeline.persisters_stopped():
        # when bob's sell fills it while the persister is stopped
        assert bob_api.place(side="sell", price="10", quantity="2").json()["status"] == "filled"

        # then alice's reads do not pass her order off as still open
        reads = [
            *PRIVATE_READS,
            ("/api/v1/order", {"symbol": "SOL_USDC", "order_id": resting["order_id"]}),
        ]
        for path, params in reads:
            resp = alice_api.get(path, **params)
            assert resp.status_code == 503, (path, resp.content)
            assert resp.json()["error"]["code"] == "writes_not_persisted"


@pytest.fixture
def lingering_persisters(pipeline):
    """Call it with a linger in ms: the in-process persisters wait that long for bigger
    batches unless a reader nudges them; back to none afterwards."""

    def linger(ms: int) -> None:
        for persister in pipeline.persisters.values():
            persister.linger_ms = ms

    yield linger
    linger(0)
    pipeline.nudge()  # a persister lingering now would hold up the pipeline's stop


def _fill_check(path: str, alice: Api, order_id: int) -> bool:
    """Does alice's read through ``path`` show her order 2 SOL at 10 filled by bob?"""
    params = {"symbol": "SOL_USDC", "order_id": order_id} if path == "/api/v1/order" else {}
    resp = alice.get(path, **params)
    assert resp.status_code == 200, (path, resp.content)
    body = resp.json()
    if path == "/api/v1/order":
        return bool(body["status"] == "filled" and body["fills"])
    if path == "/api/v1/orders":
        return order_id not in {o["order_id"] for o in body}
    if path == "/api/v1/user/orders":
        return any(o["order_id"] == order_id and o["status"] == "filled" for o in body["results"])
    if path == "/api/v1/user/trades":
        return any(t["order_id"] == order_id for t in body["results"])
    balances = {b["asset"]: Decimal(b["available"]) for b in body}
    return balances.get("SOL", Decimal(0)) > 0


@pytest.mark.parametrize(
    "path",
    ["/api/v1/order", "/api/v1/orders", "/api/v1/user/orders", "/api/v1/user/trades",
     "/api/v1/user/balances"],
)  # fmt: skip
def test_a_makers_read_shows_the_fill_the_taker_was_just_told_about(
    pipeline, path, settings, lingering_persisters
):
    # given alice's resting buy, recorded, and a persister that lingers 20 s for bigger batches
    settings.READ_YOUR_WRITES_TIMEOUT = 10
    alice = Api.for_user(make_user("alice")).fund(USDC="1000")
    bob = Api.for_user(make_user("bob")).fund(SOL="10")
    resting = alice.place(side="buy", price="10", quantity="2").json()
    order_id = resting["order_id"]
    assert alice.get("/api/v1/order", symbol="SOL_USDC", order_id=order_id).json()["status"] == (
        "new"
    )  # her own write is recorded: nothing of hers is left for her next read to wait for
    lingering_persisters(20_000)

    # when bob's sell fills it and he is told so
    taken = bob.place(side="sell", price="10", quantity="2")
    assert (taken.status_code, taken.json()["status"]) == (201, "filled")

    # then alice's very next read shows the fill, without waiting out the linger
    assert _fill_check(path, alice, order_id), path


@pytest.fixture
def two_shards(settings):
    from pipeline.client import shard_map

    settings.MATCHER_SHARDS = "s0=SOL_USDC,BTC_USDC;s1=ETH_USDC"
    shard_map.cache_clear()
    yield
    shard_map.cache_clear()


def test_an_order_that_needs_funds_moved_answers_503_rather_than_trust_stale_shard_balances(
    two_shards, pipeline, settings
):
    """Funds move to a market's shard by the user's shard balances in the database. Read stale,
    they still show funds an unrecorded order took: nothing would move, and the order would be
    refused for insufficient funds that the user has on the funding shard."""
    alice = Api.for_user(make_user("alice")).fund(USDC="1000")  # on the funding shard s0
    buy = {"symbol": "ETH_USDC", "side": "buy", "price": "100", "quantity": "1"}
    parked = alice.place(**buy).json()  # moves its hold to s1; cancelled, it stays there
    alice.delete("/api/v1/order", symbol="ETH_USDC", order_id=parked["order_id"])
    alice.balances()  # recorded: s1 holds one order's worth, available
    settings.READ_YOUR_WRITES_TIMEOUT = 0.2
    with pipeline.persisters_stopped():
        first = alice.place(**buy)
        assert (first.status_code, first.json()["status"]) == (201, "new")  # s1's funds

        second = alice.place(**buy)  # s1's row still shows them available

        assert second.status_code == 503, second.content
        assert second.json()["error"]["code"] == "writes_not_persisted"
    settings.READ_YOUR_WRITES_TIMEOUT = 10  # the restarted persister's first batch may be slow
    third = alice.place(**buy)  # moved from s0 this time
    assert (third.status_code, third.json()["status"]) == (201, "new")
