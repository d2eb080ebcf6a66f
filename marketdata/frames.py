"""The publisher's state machine: event batches in, ready-to-send WebSocket frames out.

No I/O here (``marketdata.publisher`` owns Redis and the loop), so every rule is unit-tested:

* depth: the BookChanged of one read (one or more matcher batches) are coalesced per market into
  one diff ``{e: "depth", s, U, u, b, a, E}``: ``U``/``u`` are the first/last ``update_id`` it
  covers and each level carries its absolute remaining quantity after the last change ("0"
  removes it). Applying diffs by the documented rule reproduces the matcher's book exactly.
* trade: one message per TradeExecuted, in engine order.
* kline: the touched candles of all 12 intervals after the read, and each candle once more with
  ``x: true`` when its interval ends.
* ticker: at most every ``ticker_every_ms`` per market, only while something in it changed.
* orders / balances: every order event and every BalanceChanged, to the owner's channel only.
  An order's message is the order representation of ``trading.orders`` (``order_update_json``,
  its fill ``fill_json``), its numbers written at the market's precision.

Each frame is serialized once, here; the ASGI processes relay the same text to every client.
Candles and tickers only count trades with ``seq`` above the persister checkpoint the state was
seeded from, so a restart never counts a trade twice (see ``marketdata.seed``). One market's
book, candles and ticker buckets are a ``marketdata.market_state.MarketState``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from marketdata import groups, serializers
from marketdata.aggregation import INTERVALS, Candle, close_time, ticker, window_start
from marketdata.formatting import Fmt, amount
from marketdata.market_state import DepthDiff, MarketState, coalesce_depth
from marketdata.order_frames import (
    LATER_ORDER_EVENTS,
    NS_PER_MS,
    ORDER_EVENTS,
    Frame,
    ListInfo,
    OrderFrames,
    OrderInfo,
    dumps,
    info_of,
)
from matching.events import (
    BalanceChanged,
    BookChanged,
    Event,
    MarketAdded,
    MarketUpdated,
    OrderAccepted,
    TradeExecuted,
)
from matching.types import MarketSpec
from trading.orders import fill_json

KEEP_CLOSED_MS = 60_000  # a trade stamped a little before a boundary may arrive after it


def depth_data(fmt: Fmt, diff: DepthDiff) -> dict[str, Any]:
    return {
        "e": "depth",
        "E": diff.time_ms,
        "s": diff.symbol,
        "U": diff.first_id,
        "u": diff.last_id,
        "b": serializers.levels(fmt, sorted(diff.bids.items(), reverse=True)),
        "a": serializers.levels(fmt, sorted(diff.asks.items())),
    }


def trade_data(fmt: Fmt, ev: TradeExecuted) -> dict[str, Any]:
    ms = ev.ts // NS_PER_MS
    return {
        "e": "trade",
        "E": ms,
        "s": ev.symbol,
        "t": ev.trade_id,
        "p": fmt.ticks(ev.price),
        "q": fmt.lots(ev.quantity),
        "T": ms,
        "m": ev.taker_side == "sell",  # the buyer rested on the book
    }


def kline_data(fmt: Fmt, symbol: str, interval: str, c: Candle, now_ms: int) -> dict[str, Any]:
    end = close_time(interval, c.open_time)
    return {
        "e": "kline",
        "E": now_ms,
        "s": symbol,
        "k": {
            "t": c.open_time,
            "T": end,
            "s": symbol,
            "i": interval,
            "o": fmt.ticks(c.open),
            "h": fmt.ticks(c.high),
            "l": fmt.ticks(c.low),
            "c": fmt.ticks(c.close),
            "v": fmt.lots(c.volume),
            "q": fmt.quote_atoms(c.quote_volume),
            "n": c.trades,
            "x": end < now_ms,
        },
    }


class PublisherState(OrderFrames):
    """The publisher's whole state: its markets, the assets' decimals, each shard's persister
    checkpoint when it was seeded (``marketdata.seed``) and what the orders it saw were placed
    with. ``on_events`` turns one read into frames, ``on_tick`` sends candle closes and tickers."""

    def __init__(
        self,
        prefix: str,
        markets: dict[str, MarketState],
        asset_decimals: dict[str, int],
        checkpoints: dict[str, int],
        *,
        skip_accounts: Iterable[int] = (),
        ticker_every_ms: int = 250,
    ) -> None:
        self.prefix = prefix
        self.markets = markets
        self.asset_decimals = asset_decimals
        self.checkpoints = checkpoints
        self.skip_accounts = frozenset(skip_accounts)
        self.ticker_every_ms = ticker_every_ms
        self.orders: dict[int, OrderInfo] = {}
        self.lists: dict[int, ListInfo] = {}  # order lists seen accepted, until done
        # Private channels someone listens to, as asked of Redis just before this read's
        # frames are built (None: unknown, build them all). Most traders have no stream
        # open; their frames would be encoded and published to nobody.
        self.listening: set[str] | None = None

    # --- what the runner must load before on_events ---------------------------------------

    def unknown_symbols(self, events: Iterable[Event]) -> set[str]:
        return {
            ev.symbol
            for ev in events
            if isinstance(ev, BookChanged | TradeExecuted) and ev.symbol not in self.markets
        }

    def unknown_assets(self, events: Iterable[Event]) -> set[str]:
        """Assets moved by these events whose decimals this process has not read (an asset
        an operator added since it started, deposited before any market lists it)."""
        return {
            ev.asset
            for ev in events
            if type(ev) is BalanceChanged and ev.asset not in self.asset_decimals
        }

    def unknown_orders(self, events: Iterable[Event]) -> set[int]:
        """Orders with an end/amend event whose acceptance this process never saw."""
        ids = set()
        for ev in events:
            if type(ev) is OrderAccepted:
                ids.discard(ev.order_id)
                self.orders.setdefault(ev.order_id, info_of(ev))
            elif type(ev) in LATER_ORDER_EVENTS:
                if ev.order_id not in self.orders:  # type: ignore[union-attr]
                    ids.add(ev.order_id)  # type: ignore[union-attr]
        return ids

    # --- per read ---------------------------------------------------------------------------

    def on_events(self, shard: str, events: Sequence[Event], now_ms: int) -> list[Frame]:
        frames: list[Frame] = []
        done = self.checkpoints.get(shard, 0)
        touched: dict[str, set[tuple[str, int]]] = {}
        for ev in events:
            kind = type(ev)
            if kind is TradeExecuted:
                frames.extend(self._on_trade(ev, ev.seq > done, touched))  # type: ignore[arg-type]
            elif kind is BookChanged:
                state = self.markets.get(ev.symbol)  # type: ignore[union-attr]
                if state is not None:
                    state.apply_book(ev)  # type: ignore[arg-type]
            elif kind is BalanceChanged:
                frames.extend(self._on_balance(ev))  # type: ignore[arg-type]
            elif kind in ORDER_EVENTS:
                frames.extend(self._on_order(ev))
            elif kind is MarketAdded or kind is MarketUpdated:
                self._on_market(ev.spec)  # type: ignore[union-attr]
        for symbol, diff in coalesce_depth(events).items():
            state = self.markets.get(symbol)
            if state is not None:
                stream = f"depth.{symbol}"
                frames.append(self._public(stream, depth_data(state.fmt, diff)))
        for symbol, keys in touched.items():
            state = self.markets[symbol]
            for interval, start in sorted(keys, key=lambda k: INTERVALS.index(k[0])):
                candle = state.klines[interval][start]
                stream = f"kline.{interval}.{symbol}"
                frames.append(
                    self._public(stream, kline_data(state.fmt, symbol, interval, candle, now_ms))
                )
        return frames

    def on_tick(self, now_ms: int) -> list[Frame]:
        """Candle closes and due tickers; call every few tens of ms."""
        frames: list[Frame] = []
        oldest = window_start(now_ms)
        for symbol, state in self.markets.items():
            for interval, candles in state.klines.items():
                for start in [s for s in candles if close_time(interval, s) < now_ms]:
                    if (interval, start) not in state.closed:
                        state.closed.add((interval, start))
                        frames.append(
                            self._public(
                                f"kline.{interval}.{symbol}",
                                kline_data(state.fmt, symbol, interval, candles[start], now_ms),
                            )
                        )
                    if close_time(interval, start) < now_ms - KEEP_CLOSED_MS:
                        del candles[start]
                        state.closed.discard((interval, start))
            expired = [m for m in state.minutes if m < oldest]
            for minute in sorted(expired):
                state.last_before = state.minutes.pop(minute).close
                state.ticker_dirty = True
            best = state.best_prices()
            if best != state.best:
                state.best = best
                state.ticker_dirty = True
            if state.ticker_dirty and now_ms - state.ticker_sent_ms >= self.ticker_every_ms:
                state.ticker_dirty = False
                state.ticker_sent_ms = now_ms
                frames.append(self._public(f"ticker.{symbol}", self.ticker_data(state, now_ms)))
        return frames

    def ticker_data(self, state: MarketState, now_ms: int) -> dict[str, Any]:
        stats = ticker(state.minutes.values(), now_ms, state.last_before)
        data = serializers.ticker(state.symbol, state.fmt, stats, *state.best)
        return {"e": "ticker", "E": now_ms, **data}

    # --- handlers -------------------------------------------------------------------------------

    def _public(self, stream: str, data: dict[str, Any]) -> Frame:
        return groups.public_channel(self.prefix, stream), dumps(stream, data)

    def private_channels(self, events: Iterable[Event]) -> list[str]:
        """Every private channel these events could publish to."""
        accounts: set[int] = set()
        for ev in events:
            if type(ev) is TradeExecuted:
                accounts.add(ev.maker_account)
                accounts.add(ev.taker_account)
            else:
                account = getattr(ev, "account", None)
                if account is not None:
                    accounts.add(account)
        return [
            groups.private_channel(self.prefix, user, stream)
            for user in sorted(accounts - self.skip_accounts)
            for stream in sorted(groups.PRIVATE_STREAMS)
        ]

    def _channel(self, user: int, stream: str) -> str | None:
        """``user``'s channel for ``stream`` if anyone listens to it. Asked before a frame is
        built: most accounts have no subscriber, and formatting their frames was a third of
        the publisher's CPU."""
        if user in self.skip_accounts:
            return None
        channel = groups.private_channel(self.prefix, user, stream)
        if self.listening is not None and channel not in self.listening:
            return None
        return channel

    def _on_trade(
        self, ev: TradeExecuted, count: bool, touched: dict[str, set[tuple[str, int]]]
    ) -> list[Frame]:
        state = self.markets.get(ev.symbol)
        if state is None:
            return []
        frames = [self._public(f"trade.{ev.symbol}", trade_data(state.fmt, ev))]
        if count:
            keys = state.add_trade(ev.ts // NS_PER_MS, ev.price, ev.quantity, ev.quote_amount)
            touched.setdefault(ev.symbol, set()).update(keys)
        maker_side = "buy" if ev.taker_side == "sell" else "sell"
        for order_id, account, side, lots, quote, fee, fee_asset, liquidity in (
            (
                ev.maker_order_id,
                ev.maker_account,
                maker_side,
                ev.maker_filled,
                ev.maker_filled_quote,
                ev.maker_fee,
                ev.maker_fee_asset,
                "maker",
            ),
            (
                ev.taker_order_id,
                ev.taker_account,
                str(ev.taker_side),
                ev.taker_filled,
                ev.taker_filled_quote,
                ev.taker_fee,
                ev.taker_fee_asset,
                "taker",
            ),
        ):
            channel = self._channel(account, "orders")
            if channel is None:
                continue
            info = self.orders.get(order_id)
            status = "filled" if info and info.quantity == lots else "partially_filled"
            fill = fill_json(
                trade_id=ev.trade_id,
                price=state.fmt.ticks(ev.price),
                quantity=state.fmt.lots(ev.quantity),
                fee=amount(self.asset_decimals.get(fee_asset, 0), fee),
                fee_asset=fee_asset,
                liquidity=liquidity,
            )
            data = self._order(
                "trade", ev.ts, order_id, ev.symbol, status, lots, quote, info, side=side, fill=fill
            )
            frames.append((channel, dumps("orders", data)))
        return frames

    def _on_market(self, spec: MarketSpec) -> None:
        """A market an operator added or changed (trading.services): its assets' decimals,
        and its numbers written at its sizes from the events after this one on."""
        for asset in (spec.base, spec.quote):
            self.asset_decimals[asset.code] = asset.decimals
        state = self.markets.get(spec.symbol)
        if state is not None:
            state.fmt = Fmt.of(spec)

    def _on_balance(self, ev: BalanceChanged) -> list[Frame]:
        decimals = self.asset_decimals.get(ev.asset)
        if decimals is None:
            return []
        if (channel := self._channel(ev.account, "balances")) is None:
            return []
        data = {
            "e": "balance",
            "E": ev.ts // NS_PER_MS,
            "asset": ev.asset,
            "available": amount(decimals, ev.available),
            "locked": amount(decimals, ev.locked),
            "reason": str(ev.reason),
        }
        return [(channel, dumps("balances", data))]
