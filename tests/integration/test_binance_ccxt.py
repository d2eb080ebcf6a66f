"""ccxt's binance class, unchanged but for its URLs and keys, against the real stack: REST
(/api/v3) and its WebSocket side (/ws, /ws-api/v3) served by uvicorn, fed by the publisher.

What a bot written for Binance spot does with ccxt: load the markets, read the book, trades,
tickers and candles, check its balance, place limit, market and post-only orders, look them
up, list them, cancel them; and watch the book, the trades and its own orders."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from typing import Any

import ccxt  # type: ignore[import-untyped]
import ccxt.pro  # type: ignore[import-untyped]
import pytest

from tests.integration.conftest import Stack, start_stack, stop_stack

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture(scope="module")
def stack(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: Any) -> Any:
    with django_db_blocker.unblock():
        running = start_stack(tmp_path_factory, websocket=True)
        try:
            yield running
        finally:
            stop_stack(running)


def config(stack: Stack, key: str, secret: str) -> dict[str, Any]:
    rest = stack.base_url + "/api/v3"
    ws = stack.ws_url  # ws://127.0.0.1:<WS_PORT>/ws
    return {
        "apiKey": key,
        "secret": secret,
        "urls": {
            "api": {
                "public": rest,
                "private": rest,
                "ws": {"spot": ws, "ws-api": {"spot": ws.removesuffix("/ws") + "/ws-api/v3"}},
            }
        },
        "options": {
            "defaultType": "spot",
            "fetchMarkets": {"types": ["spot"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
        },
    }


@pytest.fixture(scope="module")
def traders(stack: Stack) -> tuple[Any, Any, Any]:
    maker = stack.funded("ccxtmaker", SOL="100", USDC="100000")
    taker = stack.funded("ccxttaker", SOL="100", USDC="100000")
    return (
        maker,
        ccxt.binance(config(stack, maker.api.api_key, maker.api.api_secret)),
        ccxt.binance(config(stack, taker.api.api_key, taker.api.api_secret)),
    )


def test_ccxt_trades_here_through_its_binance_class(stack: Stack, traders: Any) -> None:
    _, maker, taker = traders
    markets = maker.load_markets()
    market = markets["SOL/USDC"]
    assert (market["id"], market["spot"], market["active"]) == ("SOLUSDC", True, True)
    assert (market["precision"]["price"], market["precision"]["amount"]) == (0.01, 0.01)
    assert market["limits"]["cost"]["min"] == 1.0
    taker.load_markets()

    balance = maker.fetch_balance()
    assert (balance["USDC"]["free"], balance["SOL"]["total"]) == (100000.0, 100.0)

    # A resting ask, a post-only bid below it, then a taker buy that crosses the ask.
    ask = maker.create_order("SOL/USDC", "limit", "sell", 2, 150.25, {"clientOrderId": "ask-1"})
    assert (ask["status"], ask["price"], ask["amount"], ask["clientOrderId"]) == (
        "open",
        150.25,
        2.0,
        "ask-1",
    )
    bid = maker.create_order("SOL/USDC", "limit", "buy", 1, 149, {"postOnly": True})
    assert bid["status"] == "open" and bid["info"]["type"] == "LIMIT_MAKER"
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        taker.create_order("SOL/USDC", "limit", "buy", 1, 151, {"postOnly": True})

    filled = taker.create_order("SOL/USDC", "market", "buy", 1)
    assert (filled["status"], filled["filled"], filled["average"]) == ("closed", 1.0, 150.25)
    assert filled["trades"][0]["price"] == 150.25
    by_quote = taker.create_order("SOL/USDC", "market", "buy", None, None, {"cost": "75.12"})
    assert by_quote["status"] == "closed" and D(by_quote["info"]["cummulativeQuoteQty"]) <= D(
        "75.12"
    )

    stack.wait_settled()  # another user's fills of the maker's order are persisted meanwhile
    got = maker.fetch_order(ask["id"], "SOL/USDC")  # 1 + 75.12 / 150.25 = 1.49 of its 2
    assert (got["status"], got["info"]["executedQty"], got["info"]["origQty"]) == (
        "open",
        "1.49",
        "2",
    )
    assert {o["id"] for o in maker.fetch_open_orders("SOL/USDC")} == {ask["id"], bid["id"]}
    assert {o["id"] for o in maker.fetch_orders("SOL/USDC")} >= {ask["id"], bid["id"]}
    mine = taker.fetch_my_trades("SOL/USDC")
    assert mine and all(t["side"] == "buy" and t["takerOrMaker"] == "taker" for t in mine)

    book = taker.fetch_order_book("SOL/USDC")
    assert book["bids"][0] == [149.0, 1.0] and book["nonce"] > 0
    trades = taker.fetch_trades("SOL/USDC")
    assert trades[0]["price"] == 150.25 and trades[-1]["side"] == "buy"
    ticker = taker.fetch_ticker("SOL/USDC")
    assert (ticker["last"], ticker["bid"]) == (150.25, 149.0)
    assert "SOL/USDC" in taker.fetch_tickers()
    candles = taker.fetch_ohlcv("SOL/USDC", "1m")
    assert candles and candles[-1][4] == 150.25 and candles[-1][5] > 0

    cancelled = maker.cancel_order(bid["id"], "SOL/USDC")
    assert cancelled["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        maker.cancel_order(bid["id"], "SOL/USDC")
    rest = maker.cancel_all_orders("SOL/USDC")
    assert [o["id"] for o in rest] == [ask["id"]] and rest[0]["status"] == "canceled"
    assert maker.fetch_open_orders("SOL/USDC") == []

    with pytest.raises(ccxt.InsufficientFunds):
        maker.create_order("SOL/USDC", "limit", "buy", 10000, 150)
    with pytest.raises(ccxt.BadSymbol):
        maker.fetch_order_book("NOPE/USDC")


def test_ccxt_watches_the_book_trades_and_its_orders(stack: Stack, traders: Any) -> None:
    maker_trader, maker_rest, taker_rest = traders

    async def scenario() -> None:
        cfg = config(stack, maker_trader.api.api_key, maker_trader.api.api_secret)
        watcher = ccxt.pro.binance(cfg)
        try:
            await watcher.load_markets()
            resting = maker_rest.create_order("SOL/USDC", "limit", "buy", 1, 140)
            book = await asyncio.wait_for(watcher.watch_order_book("SOL/USDC"), 20)
            assert book["bids"][0] == [140.0, 1.0]
            orders = asyncio.create_task(watcher.watch_orders("SOL/USDC"))
            trades = asyncio.create_task(watcher.watch_trades("SOL/USDC"))
            # Both subscriptions are confirmed before anything is published to them: the
            # user stream's over /ws-api/v3, the trades' over /ws.
            await _until(lambda: _subscribed(watcher))
            taker_rest.create_order("SOL/USDC", "limit", "sell", "0.4", 139)
            seen = await asyncio.wait_for(orders, 20)
            assert seen[-1]["id"] == resting["id"] and seen[-1]["filled"] == 0.4
            assert seen[-1]["status"] == "open"
            got = await asyncio.wait_for(trades, 20)
            assert (got[-1]["price"], got[-1]["amount"], got[-1]["side"]) == (140.0, 0.4, "sell")
            # The diff with the trade's change (U = u = the snapshot's + 1) is in ccxt's book.
            await _until(lambda: watcher.orderbooks["SOL/USDC"]["bids"][0] == [140.0, 0.6])
        finally:
            await watcher.close()

    asyncio.run(scenario())


def _subscribed(watcher: Any) -> bool:
    """Every subscription request ccxt sent has been answered."""
    clients = list(watcher.clients.values())
    return len(clients) >= 2 and all(
        not any(isinstance(k, str) and k.isdigit() for k in c.futures) for c in clients
    )


async def _until(condition: Any, timeout: float = 20) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
