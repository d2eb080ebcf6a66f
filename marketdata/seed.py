"""Build the publisher's starting state from Postgres (candles) and Redis (books).

Candles and tickers must count every trade exactly once across restarts. The persister commits
Kline rows with its checkpoint, so the rows read between two equal readings of the checkpoints
are exactly the trades up to those seqs; the publisher then counts only trades above them.
Before reading, it waits until the persister has reached everything this publisher's group was
already given (a previous run may have counted trades the persister had not written yet).
"""

from __future__ import annotations

import logging
import time

from django.db.models import Q

from accounts.models import Asset
from accounts.selectors import fee_account_id
from common.clock import ms_to_datetime
from marketdata.aggregation import INTERVALS, open_time, window_start
from marketdata.formatting import Fmt
from marketdata.frames import PublisherState
from marketdata.market_state import MarketState
from marketdata.models import Kline, KlineInterval
from marketdata.projections import candle_of
from matching.arith import price_to_ticks
from pipeline.client import matcher
from pipeline.keys import shard_keys
from pipeline.streams import PUBLISHER_GROUP
from pipeline.streams import delivered_seq as group_delivered_seq
from pipeline.wire import Redis
from trading.models import EventCheckpoint, Market
from trading.specs import cached_market

log = logging.getLogger(__name__)


def delivered_seq(client: Redis, shard: str) -> int:
    """The last event seq the publisher group was handed on ``shard`` (0: none)."""
    return group_delivered_seq(client, shard_keys(shard).events, PUBLISHER_GROUP) or 0


def checkpoints(shards: list[str]) -> dict[str, int]:
    rows = EventCheckpoint.objects.filter(stream__in=shards).values_list("stream", "last_seq")
    found = dict(rows)
    return {shard: found.get(shard, 0) for shard in shards}


def wait_for_persister(client: Redis, shards: list[str], timeout_s: float = 30.0) -> None:
    wanted = {shard: delivered_seq(client, shard) for shard in shards}
    deadline = time.monotonic() + timeout_s
    while True:
        done = checkpoints(shards)
        behind = {s: (done[s], seq) for s, seq in wanted.items() if done[s] < seq}
        if not behind:
            return
        if time.monotonic() > deadline:
            log.warning("persister still behind the publisher %s: candles may miss trades", behind)
            return
        time.sleep(0.1)


def market_state(symbol: str) -> MarketState:
    _, spec, _, _ = cached_market(symbol)
    state = MarketState(symbol, Fmt.of(spec))
    book = matcher().depth(symbol)
    if book is not None:
        state.seed_book(book.last_update_id, book.bids, book.asks)
    return state


def _candles(markets: dict[str, MarketState], now_ms: int) -> None:
    ids = {cached_market(s)[0]: s for s in markets}
    current = Q()
    for interval in INTERVALS:
        current |= Q(interval=interval, open_time=ms_to_datetime(open_time(interval, now_ms)))
    start = window_start(now_ms)
    minutes = Q(interval=KlineInterval.M1, open_time__gte=ms_to_datetime(start))
    for row in Kline.objects.filter(market_id__in=ids).filter(current | minutes):
        symbol = ids[row.market_id]
        state = markets[symbol]
        spec = cached_market(symbol)[1]
        candle = candle_of(row, spec)
        if row.interval == KlineInterval.M1 and candle.open_time >= start:
            state.minutes[candle.open_time] = candle.copy()
        if candle.open_time == open_time(row.interval, now_ms):
            state.klines.setdefault(row.interval, {})[candle.open_time] = candle
    for market_id, symbol in ids.items():
        close = (
            Kline.objects.filter(
                market_id=market_id, interval=KlineInterval.M1, open_time__lt=ms_to_datetime(start)
            )
            .order_by("-open_time")
            .values_list("close", flat=True)
            .first()
        )
        if close is not None:
            markets[symbol].last_before = price_to_ticks(cached_market(symbol)[1], close)


def load_state(client: Redis, shards: list[str], prefix: str) -> PublisherState:
    wait_for_persister(client, shards)
    while True:
        before = checkpoints(shards)
        markets = {s: market_state(s) for s in Market.objects.values_list("symbol", flat=True)}
        _candles(markets, time.time_ns() // 1_000_000)
        if checkpoints(shards) == before:
            break  # no batch committed while reading: the rows are exactly `before`
    decimals = dict(Asset.objects.values_list("code", "decimals"))
    return PublisherState(prefix, markets, decimals, before, skip_accounts=[fee_account_id()])
