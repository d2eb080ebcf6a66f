"""Wire codec: exact round trips for every command and event, ValueError for anything malformed."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import codec
from matching.codec import decode_command, decode_event, encode_command, encode_event
from matching.commands import COMMAND_TYPES, AddMarket, Command, PlaceOrder, Tick
from matching.engine import MatchingEngine
from matching.events import EVENT_TYPES, Event, TransferRejected
from matching.types import MarketStatus, OrderType, Side, TimeInForce
from tests.matching import streams
from tests.matching.builders import (
    ALICE,
    BOB,
    BTC,
    FEE_ACCOUNT,
    LOT,
    SPEC,
    USD,
    add_market,
    amend,
    cancel,
    cancel_all,
    cancel_list,
    conditional,
    deposit,
    limit,
    market,
    oco,
    release,
    report_totals,
    set_status,
    settle,
    tick,
    update_market,
    withdraw,
)

ALL_COMMANDS: list[Command] = [
    add_market(),
    update_market(SPEC),
    set_status(MarketStatus.HALTED),
    deposit(ALICE, USD, 10),
    withdraw("w1", ALICE, USD, 5, fee=1),
    settle("w1"),
    release("w1"),
    report_totals(),
    limit(1, ALICE, Side.BUY, 100, 2, client_order_id="x"),
    market(2, ALICE, Side.BUY, quote=500),
    cancel(ALICE, 1),
    cancel_all(ALICE),
    amend(ALICE, 1, price=99),
    limit(3, ALICE, Side.SELL, 100, 9, TimeInForce.GTD, iceberg=2, expire_time=10),
    tick(5_000_000),
    conditional(5, ALICE, Side.BUY, OrderType.STOP_LIMIT, 105, 2, 106, client_order_id="s"),
    conditional(6, ALICE, Side.SELL, OrderType.STOP_MARKET, None, 2, trailing_delta=150),
    oco(7, ALICE, Side.SELL, 2, 110, 90, 89, client_list_id="l", stop_tif=TimeInForce.IOC),
    oco(8, ALICE, Side.BUY, 2, 90, 110),
    cancel_list(ALICE, 7),
    cancel_list(ALICE, client_list_id="l"),
    Tick("t", 5),
]


def _all_events() -> list[Event]:
    """A scripted run that produces every event type at least once."""
    engine = MatchingEngine(FEE_ACCOUNT)
    script: list[Command] = [
        add_market(),
        deposit(ALICE, USD, 100_000),
        deposit(BOB, BTC, 10 * LOT),
        add_market(),  # CommandRejected market_exists
        update_market(SPEC),
        set_status(MarketStatus.TRADING),
        limit(1, BOB, Side.SELL, 100, 5),
        limit(2, ALICE, Side.BUY, 101, 2),
        limit(2, ALICE, Side.BUY, 101, 2),  # OrderRejected
        limit(3, ALICE, Side.BUY, 90, 5),
        amend(ALICE, 3, qty=3),
        cancel(ALICE, 3),
        market(4, ALICE, Side.BUY, qty=50),  # expires
        conditional(5, ALICE, Side.BUY, OrderType.STOP_MARKET, 101, 1),
        limit(6, BOB, Side.SELL, 101, 2),
        market(7, ALICE, Side.BUY, qty=1),  # OrderTriggered
        oco(8, BOB, Side.SELL, 2, 120, 90),  # OrderListAccepted
        oco(8, BOB, Side.SELL, 2, 120, 90),  # OrderListRejected
        cancel_list(BOB, 8),  # OrderListDone
        withdraw("w1", ALICE, USD, 5, 1),
        settle("w1"),
        settle("nope"),  # TransferRejected
        report_totals(),
    ]
    events = [ev for cmd in script for ev in engine.apply(cmd)]
    return events


def test_every_command_round_trips_exactly_when_encoded_and_decoded() -> None:
    assert {type(c).__name__ for c in ALL_COMMANDS} == set(COMMAND_TYPES)
    for cmd in ALL_COMMANDS:
        wire = encode_command(cmd)
        assert json.loads(json.dumps(wire)) == wire  # primitives only
        assert decode_command(json.loads(json.dumps(wire))) == cmd


def test_every_event_round_trips_exactly_when_encoded_and_decoded() -> None:
    events = _all_events()
    assert {type(e).__name__ for e in events} == set(EVENT_TYPES)
    for ev in events:
        wire = encode_event(ev)
        back = decode_event(json.loads(json.dumps(wire)))
        assert back == ev
        assert [type(x) for x in back] == [type(x) for x in ev]


def test_withdraw_decodes_without_its_fee_when_logged_before_the_field() -> None:
    wire = encode_command(withdraw("w1", ALICE, USD, 5))
    assert wire[-1] == 0
    assert decode_command(wire[:-1]) == withdraw("w1", ALICE, USD, 5)._replace(command_id=wire[1])


def test_tick_round_trips_when_encoded_and_decoded() -> None:
    cmd = Tick("tick:s0:1", 1_700_000_000_123_456_789)
    wire = encode_command(cmd)
    assert wire == ["Tick", "tick:s0:1", 1_700_000_000_123_456_789]
    assert decode_command(json.loads(json.dumps(wire))) == cmd
    with pytest.raises(ValueError):
        decode_command(["Tick", "t", "1"])
    with pytest.raises(ValueError):
        decode_command(["Tick", "t"])


def test_place_order_keeps_iceberg_and_expire_time_when_round_tripped() -> None:
    cmd = limit(1, ALICE, Side.BUY, 100, 9, TimeInForce.GTD, iceberg=2, expire_time=10)
    wire = encode_command(cmd)
    assert wire[-2:] == [2, 10]
    back = decode_command(json.loads(json.dumps(wire)))
    assert isinstance(back, PlaceOrder)
    assert back == cmd and (back.iceberg_quantity, back.expire_time) == (2, 10)


def test_place_order_decodes_without_its_newer_fields_when_logged_with_14() -> None:
    # given a PlaceOrder as logged before stop_price .. expire_time existed: 14 fields
    cmd = limit(1, ALICE, Side.BUY, 100, 2)
    old_wire = encode_command(cmd)[:15]
    # when decoded
    back = decode_command(old_wire)
    # then it is the same order, its newer fields None
    assert back == cmd
    assert isinstance(back, PlaceOrder)
    assert (back.iceberg_quantity, back.expire_time, back.stop_price) == (None, None, None)


def test_enums_travel_as_plain_strings_when_encoded() -> None:
    wire = encode_command(limit(1, ALICE, Side.BUY, 100, 2))
    assert wire[6] == "buy" and type(wire[6]) is str
    spec = encode_command(add_market())[3]
    assert spec[3] == "1" and spec[8] == "trading" and type(spec[8]) is str


@settings(max_examples=150, deadline=None)
@given(cmd=st.one_of(streams.commands, streams.statuses))
def test_generated_commands_round_trip_when_encoded(cmd: Command) -> None:
    assert decode_command(encode_command(cmd)) == cmd


GOOD = encode_command(limit(1, ALICE, Side.BUY, 100, 2))
GOOD_SPEC = encode_command(add_market())


def _with(wire: list[object], index: int, value: object) -> list[object]:
    out = list(wire)
    out[index] = value
    return out


def _spec_with(index: int, value: object) -> list[object]:
    spec = list(GOOD_SPEC[3])
    spec[index] = value
    return [*GOOD_SPEC[:3], spec]


@pytest.mark.parametrize(
    "wire",
    [
        None,
        "PlaceOrder",
        [],
        [1],
        ["NoSuchCommand", "c", 1],
        GOOD[:14],  # one field short of the 14 a PlaceOrder had before its optional ones
        [*GOOD, None],
        _with(GOOD, 2, "1"),  # ts as str
        _with(GOOD, 3, True),  # bool is not an int
        _with(GOOD, 3, 1.0),
        _with(GOOD, 6, "BUY"),  # enum values are case-sensitive
        _with(GOOD, 6, ["buy"]),  # unhashable
        _with(GOOD, 7, "stop"),
        _with(GOOD, 9, "100"),
        _with(GOOD, 12, 1),  # post_only must be bool
        _with(GOOD, 13, None),
        _with(GOOD, 14, 5),
        ["CancelOrder", "c", 1, 1, "BTC-USD", "7", None],
        ["Deposit", "c", 1, "t", 1, "USD", 1.5],
        ["CancelAll", "c", 1, 1, {"symbol": "x"}],
        _spec_with(3, "NaN"),
        _spec_with(3, "Infinity"),
        _spec_with(3, "abc"),
        _spec_with(3, 1),
        _spec_with(4, "1e999999999"),
        _spec_with(4, "1" * 100),
        _spec_with(1, ["BTC"]),
        _spec_with(1, ["BTC", "8"]),
        _spec_with(8, "closed"),
        [*GOOD_SPEC[:3], GOOD_SPEC[3][:5]],
        ["SetMarketStatus", "c", 1, "BTC-USD", "paused"],
    ],
)
def test_decode_command_raises_value_error_when_input_is_malformed(wire: object) -> None:
    with pytest.raises(ValueError):
        decode_command(wire)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=5), children)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(data=json_values)
def test_decode_command_only_raises_value_error_when_fed_arbitrary_data(data: object) -> None:
    try:
        decode_command(data)
    except ValueError:
        pass


@settings(max_examples=300, deadline=None)
@given(index=st.integers(0, 20), junk=json_values, which=st.sampled_from(ALL_COMMANDS))
def test_decode_command_only_raises_value_error_when_one_field_is_junk(
    index: int, junk: object, which: Command
) -> None:
    wire = encode_command(which)
    wire[index % len(wire)] = junk
    try:
        cmd = decode_command(wire)
    except ValueError:
        return
    assert type(cmd).__name__ in COMMAND_TYPES


def test_decimals_keep_their_exponent_when_round_tripped() -> None:
    cmd = add_market(replace(SPEC, tick_size=Decimal("0.50")))
    decoded = decode_command(encode_command(cmd))
    assert isinstance(decoded, AddMarket)
    assert decoded.spec.tick_size.as_tuple() == Decimal("0.50").as_tuple()


def test_encode_event_raises_value_error_when_record_has_wrong_arity() -> None:
    broken = tuple.__new__(TransferRejected, (1, "c", 2, "t"))  # one field short
    with pytest.raises(ValueError):
        encode_event(broken)


ALL_EVENTS = _all_events()


def _generic_or_error(wire: list[object]) -> object:
    try:
        return codec._generic_event(wire)
    except ValueError:
        return ValueError


@settings(max_examples=400, deadline=None)
@given(index=st.integers(0, 20), junk=json_values, which=st.sampled_from(ALL_EVENTS))
def test_decode_event_agrees_with_the_generic_decoder_when_one_field_is_junk(
    index: int, junk: object, which: Event
) -> None:
    # given an event's wire form with one field replaced by anything
    wire = encode_event(which)
    wire[index % len(wire)] = junk

    # when the generated decoder reads it
    try:
        got: object = decode_event(wire)
    except ValueError:
        got = ValueError

    # then it decodes what the field-by-field decoder decodes, or refuses what it refuses
    expected = _generic_or_error(wire)
    assert got == expected
    if got is not ValueError:
        assert [type(x) for x in got] == [type(x) for x in expected]  # type: ignore[attr-defined]


@settings(max_examples=200, deadline=None)
@given(which=st.sampled_from(ALL_EVENTS), extra=st.integers(-1, 1))
def test_decode_event_refuses_a_wrong_arity_like_the_generic_decoder(
    which: Event, extra: int
) -> None:
    wire = encode_event(which)
    wire = wire[:-1] if extra < 0 else wire + [0] * extra
    if extra == 0:
        assert decode_event(wire) == which
        return
    with pytest.raises(ValueError):
        decode_event(wire)
