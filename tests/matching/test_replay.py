"""Replay determinism: snapshot after command k + replay of k+1.. == running straight through."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from matching import snapshot
from matching.commands import Command
from matching.engine import MatchingEngine
from matching.events import Event
from tests.matching import streams
from tests.matching.builders import FEE_ACCOUNT, add_market


def _prefix() -> list[Command]:
    return [add_market(streams.LOW_MIN_SPEC), *streams.funding(), *streams.seed_book()]


def _run(engine: MatchingEngine, commands: list[Command]) -> list[Event]:
    out: list[Event] = []
    for cmd in commands:
        out.extend(engine.apply(cmd))
    return out


@settings(max_examples=40, deadline=None)
@given(
    commands=st.lists(st.one_of(streams.commands, streams.statuses), min_size=1, max_size=80),
    cut=st.floats(0, 1),
)
def test_restore_and_replay_gives_same_events_and_hash_when_cut_anywhere(
    commands: list[Command], cut: float
) -> None:
    # given: a stream and a point k to snapshot at
    stream = _prefix() + commands
    k = int(cut * len(stream))
    straight = MatchingEngine(FEE_ACCOUNT)
    all_events = _run(straight, stream)
    # when: we run k commands, snapshot through JSON, restore and replay the rest
    first = MatchingEngine(FEE_ACCOUNT)
    head = _run(first, stream[:k])
    restored = snapshot.load(json.loads(json.dumps(snapshot.dump(first))))
    assert restored.state_hash() == first.state_hash()
    tail = _run(restored, stream[k:])
    # then: identical events and identical final state
    assert head + tail == all_events
    assert restored.state_hash() == straight.state_hash()
    restored.validate()


def test_state_hash_differs_when_state_differs() -> None:
    # given two engines that differ by one deposit
    a = MatchingEngine(FEE_ACCOUNT)
    b = MatchingEngine(FEE_ACCOUNT)
    _run(a, _prefix())
    _run(b, _prefix())
    # when
    b.apply(streams.Deposit("d", 1, "extra", 1, "USD", 1))
    # then
    assert a.state_hash() != b.state_hash()
    assert len(a.state_hash()) == 64


def test_same_stream_gives_same_hash_when_run_twice() -> None:
    stream = _prefix() + streams.seeded_orders(7, 2_000, accounts=4)
    a = MatchingEngine(FEE_ACCOUNT)
    b = MatchingEngine(FEE_ACCOUNT)
    assert _run(a, stream) == _run(b, stream)
    assert a.state_hash() == b.state_hash()


def test_dump_holds_only_plain_primitives_when_engine_is_busy() -> None:
    engine = MatchingEngine(FEE_ACCOUNT)
    _run(engine, _prefix() + streams.seeded_orders(3, 500, accounts=4))

    def check(value: object) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                assert type(k) is str
                check(v)
        elif isinstance(value, list):
            for v in value:
                check(v)
        else:
            assert value is None or type(value) in (str, int, bool)

    check(snapshot.dump(engine))


def test_restore_and_replay_gives_same_events_when_icebergs_gtd_orders_and_ticks_are_cut() -> None:
    # given a seeded stream of icebergs, GTD orders and Ticks, run straight through
    stream = (
        [add_market(streams.LOW_MIN_SPEC), *streams.funding()]
        + [streams.Deposit("r", 1, f"rich-{a}", a, "BTC", 10**15) for a in range(1, 7)]
        + [streams.Deposit("r", 1, f"rich-usd-{a}", a, "USD", 10**15) for a in range(1, 7)]
        + streams.seeded_orders_with_options(11, 1_500)
    )
    straight = MatchingEngine(FEE_ACCOUNT)
    all_events = _run(straight, stream)
    assert any(type(ev).__name__ == "OrderExpired" for ev in all_events)
    for k in (100, 500, 900, 1_300):
        # when it is cut at k, snapshotted through JSON, restored and replayed
        first = MatchingEngine(FEE_ACCOUNT)
        head = _run(first, stream[:k])
        restored = snapshot.load(json.loads(json.dumps(snapshot.dump(first))))
        assert restored.state_hash() == first.state_hash()
        tail = _run(restored, stream[k:])
        # then the same events and the same final state
        assert head + tail == all_events
        assert restored.state_hash() == straight.state_hash()
        assert restored.next_expiry_ns() == straight.next_expiry_ns()
