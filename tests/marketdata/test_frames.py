"""The publisher's state machine without Redis: depth coalescing and the snapshot+diff rule,
trade/kline/ticker frames, private frames to their owner only."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from marketdata.aggregation import open_time
from marketdata.formatting import Fmt
from marketdata.frames import PublisherState, depth_data
from marketdata.market_state import MarketState, coalesce_depth
from matching.errors import EndReason
from matching.events import (
    BalanceChanged,
    BookChanged,
    MarketAdded,
    MarketUpdated,
    OrderAccepted,
    OrderCancelled,
    TradeExecuted,
)
from matching.types import (
    AssetSpec,
    BalanceReason,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)
from tests.support.specs import SOL_USDC

SPEC = SOL_USDC
FMT = Fmt.of(SPEC)
TS = 1_704_277_062_123 * 1_000_000
PREFIX = "mdT:"


def book_changed(update_id, bids=(), asks=(), seq=None):
    return BookChanged(seq or update_id, "c", TS, "SOL_USDC", update_id, tuple(bids), tuple(asks))


def state(checkpoint=0):
    market = MarketState("SOL_USDC", FMT)
    return PublisherState(PREFIX, {"SOL_USDC": market}, {"SOL": 9, "USDC": 6}, {"s0": checkpoint})


def frames_by_channel(frames):
    out: dict[str, list] = {}
    for channel, text in frames:
        out.setdefault(channel, []).append(json.loads(text))
    return out


def test_coalesce_depth_keeps_the_last_quantity_per_level_when_a_level_changes_twice():
    events = [
        book_changed(5, bids=[(100, 3)]),
        book_changed(6, bids=[(100, 1), (99, 2)], asks=[(101, 4)]),
        book_changed(7, bids=[(100, 0)]),
    ]
    diff = coalesce_depth(events)["SOL_USDC"]
    data = depth_data(FMT, diff)
    assert (data["U"], data["u"]) == (5, 7)
    assert data["b"] == [["1.00", "0.00"], ["0.99", "0.02"]]
    assert data["a"] == [["1.01", "0.04"]]


levels = st.lists(st.tuples(st.integers(1, 20), st.integers(0, 5)), max_size=4)


@given(
    st.lists(st.tuples(levels, levels), min_size=1, max_size=40),
    st.lists(st.integers(1, 5), min_size=1, max_size=40),
    st.integers(0, 40),
)
def test_a_client_following_the_snapshot_rule_holds_the_book_when_diffs_are_coalesced(
    changes, read_sizes, snapshot_at
):
    # The matcher's book after each update id, and the BookChanged stream.
    book: dict[str, dict[int, int]] = {"b": {}, "a": {}}
    snapshots: list[tuple[dict[int, int], dict[int, int], int]] = [({}, {}, 0)]
    events = []
    for update_id, (bids, asks) in enumerate(changes, start=1):
        for side, levels_ in (("b", bids), ("a", asks)):
            for price, lots in levels_:
                if lots:
                    book[side][price] = lots
                else:
                    book[side].pop(price, None)
        events.append(book_changed(update_id, bids, asks))
        snapshots.append((dict(book["b"]), dict(book["a"]), update_id))
    # The publisher's reads, coalesced.
    diffs, i, sizes = [], 0, iter(read_sizes * 50)
    while i < len(events):
        n = next(sizes)
        diffs.append(coalesce_depth(events[i : i + n])["SOL_USDC"])
        i += n
    # The client: a REST snapshot taken at some point, then the documented rule.
    seeded_bids, seeded_asks, last = snapshots[min(snapshot_at, len(changes))]
    bids, asks = dict(seeded_bids), dict(seeded_asks)
    applied_first = False
    for diff in diffs:
        if diff.last_id <= last:
            continue
        if not applied_first:
            assert diff.first_id <= last + 1 <= diff.last_id
            applied_first = True
        else:
            assert diff.first_id == last + 1
        for held, changed in ((bids, diff.bids), (asks, diff.asks)):
            for price, lots in changed.items():
                if lots:
                    held[price] = lots
                else:
                    held.pop(price, None)
        last = diff.last_id
    assert (bids, asks) == (book["b"], book["a"])


def trade(seq, trade_id, price, lots, ts=TS, taker_side=Side.BUY):
    return TradeExecuted(
        seq, "c", ts, "SOL_USDC", trade_id, price, lots, price * lots * 100, taker_side,
        10, 11, 1, 2, 5, "USDC", 7, "SOL", lots, price * lots * 100, lots, price * lots * 100,
    )  # fmt: skip


def test_trades_become_one_frame_each_in_order_when_a_read_holds_several():
    frames = frames_by_channel(
        state().on_events("s0", [trade(1, 1, 100, 2), trade(2, 2, 101, 1)], 0)
    )
    trades = frames[f"{PREFIX}trade.SOL_USDC"]
    assert [(t["data"]["t"], t["data"]["p"], t["data"]["q"]) for t in trades] == [
        (1, "1.00", "0.02"),
        (2, "1.01", "0.01"),
    ]
    assert trades[0]["stream"] == "trade.SOL_USDC"
    assert trades[0]["data"]["T"] == TS // 1_000_000
    assert trades[0]["data"]["m"] is False


def test_kline_frames_cover_all_intervals_when_a_trade_arrives():
    now = TS // 1_000_000
    frames = frames_by_channel(
        state().on_events("s0", [trade(1, 1, 100, 2), trade(2, 2, 90, 1)], now)
    )
    k = frames[f"{PREFIX}kline.1m.SOL_USDC"][-1]["data"]["k"]
    assert (k["o"], k["h"], k["l"], k["c"], k["v"], k["n"], k["x"]) == (
        "1.00", "1.00", "0.90", "0.90", "0.03", 2, False,
    )  # fmt: skip
    assert k["t"] == open_time("1m", now)
    assert len([c for c in frames if ".kline." in c or c.startswith(f"{PREFIX}kline.")]) == 12


def test_trades_at_or_below_the_checkpoint_do_not_count_in_candles_when_replayed():
    st_ = state(checkpoint=1)
    frames = frames_by_channel(
        st_.on_events("s0", [trade(1, 1, 100, 2), trade(2, 2, 90, 1)], TS // 10**6)
    )
    assert len(frames[f"{PREFIX}trade.SOL_USDC"]) == 2  # still streamed
    assert frames[f"{PREFIX}kline.1m.SOL_USDC"][-1]["data"]["k"]["n"] == 1


def test_candle_close_is_sent_once_when_its_interval_ends():
    st_ = state()
    now = TS // 1_000_000
    st_.on_events("s0", [trade(1, 1, 100, 2)], now)
    end = open_time("1m", now) + 60_000
    closes = frames_by_channel(st_.on_tick(end)).get(f"{PREFIX}kline.1m.SOL_USDC", [])
    assert [c["data"]["k"]["x"] for c in closes] == [True]
    assert f"{PREFIX}kline.1m.SOL_USDC" not in frames_by_channel(st_.on_tick(end + 100))


def test_ticker_is_sent_at_most_every_250_ms_when_trades_keep_coming():
    st_ = state()
    now = TS // 1_000_000
    sent = []
    for i in range(10):
        st_.on_events("s0", [trade(i + 1, i + 1, 100 + i, 1)], now + i * 50)
        sent += frames_by_channel(st_.on_tick(now + i * 50)).get(f"{PREFIX}ticker.SOL_USDC", [])
    assert 2 <= len(sent) <= 3
    last = sent[-1]["data"]
    assert last["symbol"] == "SOL_USDC" and last["open_price"] == "1.00"


def test_ticker_best_prices_follow_the_book_when_levels_change():
    st_ = state()
    st_.on_events("s0", [book_changed(1, bids=[(99, 1)], asks=[(101, 2)])], 0)
    ticker = frames_by_channel(st_.on_tick(10**6))[f"{PREFIX}ticker.SOL_USDC"][0]["data"]
    assert (ticker["best_bid"], ticker["best_ask"]) == ("0.99", "1.01")


def accepted(order_id, account):
    return OrderAccepted(
        1, "c", TS, order_id, account, "SOL_USDC", Side.BUY, OrderType.LIMIT, TimeInForce.GTC,
        100, 5, None, False, StpMode.EXPIRE_TAKER, "my-1", None, None, None, None, None,
    )  # fmt: skip


def test_private_frames_go_to_the_owner_channel_only_when_orders_and_balances_change():
    events = [
        accepted(10, 1),
        BalanceChanged(2, "c", TS, 1, "USDC", 900, 100, -100, 100, BalanceReason.HOLD, "o:10"),
        trade(3, 1, 100, 2),
        OrderCancelled(4, "c", TS, 10, 1, "SOL_USDC", EndReason.USER_CANCELLED, 2, 20000),
    ]
    frames = frames_by_channel(state().on_events("s0", events, 0))
    mine = frames[f"{PREFIX}u:1:orders"]
    assert [m["data"]["update"] for m in mine] == ["new", "trade", "cancelled"]
    assert mine[1]["data"]["fill"]["liquidity"] == "maker"
    assert mine[2]["data"]["client_order_id"] == "my-1"
    assert frames[f"{PREFIX}u:1:balances"][0]["data"]["available"] == "0.000900"
    other = frames[f"{PREFIX}u:2:orders"]  # the taker of the trade
    assert [m["data"]["order_id"] for m in other] == [11]
    public = [json.loads(t) for c, t in state().on_events("s0", events, 0) if ":u:" not in c]
    assert all(
        "account" not in json.dumps(p) and "maker_order" not in json.dumps(p) for p in public
    )


def test_private_frames_are_built_only_for_channels_someone_listens_to():
    events = [
        accepted(10, 1),
        BalanceChanged(2, "c", TS, 1, "USDC", 900, 100, -100, 100, BalanceReason.HOLD, "o:10"),
        trade(3, 1, 100, 2),
    ]
    publisher = state()
    # every channel these events could reach: both private streams of the owner and the taker
    assert publisher.private_channels(events) == [
        f"{PREFIX}u:1:balances",
        f"{PREFIX}u:1:orders",
        f"{PREFIX}u:2:balances",
        f"{PREFIX}u:2:orders",
    ]
    # when only user 2's orders stream has a subscriber
    publisher.listening = {f"{PREFIX}u:2:orders"}
    channels = {channel for channel, _ in publisher.on_events("s0", events, 0)}
    # then no other private frame is built; public ones are unaffected
    assert {c for c in channels if ":u:" in c} == {f"{PREFIX}u:2:orders"}
    assert f"{PREFIX}trade.SOL_USDC" in channels


def test_trades_after_a_tick_change_are_written_at_the_new_tick():
    # given SOL_USDC's tick changed from 0.01 to 0.1 (an operator's change, on an empty book)
    publisher = state()
    coarser = dataclasses.replace(SPEC, tick_size=Decimal("0.1"))

    frames = frames_by_channel(
        publisher.on_events("s0", [MarketUpdated(1, "c", TS, coarser), trade(2, 1, 100, 2)], 0)
    )

    # then 100 ticks are 10.0, not 1.00
    [frame] = frames[f"{PREFIX}trade.SOL_USDC"]
    assert frame["data"]["p"] == "10.0"


def test_a_new_assets_balances_are_written_at_its_decimals_when_a_market_lists_it():
    publisher = state()
    doge = AssetSpec("DOGE", 8)
    listed = dataclasses.replace(SPEC, symbol="DOGE_USDC", base=doge)
    credit = BalanceChanged(2, "c", TS, 1, "DOGE", 150, 0, 150, 0, BalanceReason.DEPOSIT, "x:1")
    assert publisher.unknown_assets([credit]) == {"DOGE"}  # the runner would look it up

    frames = frames_by_channel(
        publisher.on_events("s0", [MarketAdded(1, "c", TS, listed), credit], 0)
    )

    assert publisher.unknown_assets([credit]) == set()
    assert frames[f"{PREFIX}u:1:balances"][0]["data"]["available"] == "0.00000150"
