"""An order list's Redis copies (trading.services.lists): the submit keeps the list (under its
id negated) and both legs as "pending" and "placed" in the command's own step, and the
persister drops each when its row no longer needs it: the list's pending copy once its row is
written, its placed copy once it is done, and everything of a refused list with it."""

from __future__ import annotations

import redis

from matching.commands import Tick
from matching.errors import RejectReason
from matching.events import OrderListAccepted, OrderListDone, OrderListRejected
from pipeline.keys import shard_keys
from pipeline.persister import Persister
from pipeline.transport import CommandLog, SubmitGuards

ACCOUNT = 41


def _submit(rds: redis.Redis, list_id: int, limit_id: int, stop_id: int) -> None:
    guards = SubmitGuards(
        writer=ACCOUNT,
        placeholder=(limit_id, b"limit"),
        more_placeholders=((stop_id, b"stop"), (-list_id, b"list")),
    )
    CommandLog(rds).submit("t0", Tick(f"k{list_id}", 1), guards, wait_s=0)


def _drop(rds: redis.Redis, ev: OrderListAccepted | OrderListDone | OrderListRejected) -> None:
    pipe = rds.pipeline(transaction=False)
    Persister._drop_list_copies(pipe, shard_keys("t0"), ev)
    pipe.execute()


def test_a_lists_copies_are_kept_with_its_command_and_go_with_its_events(
    rds: redis.Redis,
) -> None:
    keys = shard_keys("t0")
    # given a list sent with its legs' placeholders
    _submit(rds, 10, 11, 12)
    everything = {b"11": b"limit", b"12": b"stop", b"-10": b"list"}
    assert rds.hgetall(keys.pending(ACCOUNT)) == everything
    assert rds.hgetall(keys.placed(ACCOUNT)) == everything
    # when its row is written: its pending copy goes (the legs' go with their own events)
    _drop(rds, OrderListAccepted(1, "c", 1, 10, ACCOUNT, "SOL_USDC", None, 11, 12))
    assert set(rds.hkeys(keys.pending(ACCOUNT))) == {b"11", b"12"}
    assert b"-10" in rds.hkeys(keys.placed(ACCOUNT))
    # and when it is done: its placed copy goes
    _drop(rds, OrderListDone(2, "c", 1, 10, ACCOUNT, "SOL_USDC"))
    assert set(rds.hkeys(keys.placed(ACCOUNT))) == {b"11", b"12"}


def test_a_refused_lists_copies_and_its_legs_go_when_it_is_rejected(rds: redis.Redis) -> None:
    keys = shard_keys("t0")
    _submit(rds, 20, 21, 22)

    _drop(
        rds,
        OrderListRejected(
            1, "c", 1, 20, ACCOUNT, "SOL_USDC", None, 21, 22, RejectReason.INSUFFICIENT_FUNDS
        ),
    )

    assert rds.hlen(keys.pending(ACCOUNT)) == 0
    assert rds.hlen(keys.placed(ACCOUNT)) == 0


def test_a_duplicate_list_rejection_leaves_the_original_lists_copies(rds: redis.Redis) -> None:
    keys = shard_keys("t0")
    _submit(rds, 30, 31, 32)

    _drop(
        rds,
        OrderListRejected(
            1, "c", 1, 30, ACCOUNT, "SOL_USDC", None, 31, 32, RejectReason.DUPLICATE_LIST_ID
        ),
    )

    assert rds.hlen(keys.pending(ACCOUNT)) == 3
