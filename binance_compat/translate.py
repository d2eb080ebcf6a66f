"""The publisher's messages (marketdata/frames.py) in Binance's stream format. Pure, no I/O.

Each function takes the ``data`` of one native message and returns Binance's event, or None
when it has no Binance counterpart. A market's Binance name is its symbol without the
underscore (``Market.clean`` makes every symbol ``BASE_QUOTE``).

| native | Binance |
|---|---|
| ``depth.<SYMBOL>`` | ``<symbol>@depth`` ``depthUpdate`` (the same ``U``/``u``) |
| ``trade.<SYMBOL>`` | ``<symbol>@trade`` ``trade`` |
| ``kline.<i>.<SYMBOL>`` | ``<symbol>@kline_<i>`` ``kline`` (trade ids -1, taker volumes null) |
| ``ticker.<SYMBOL>`` | ``<symbol>@ticker`` ``24hrTicker`` |
| ``orders`` | ``executionReport`` |
| ``balances`` | ``outboundAccountPosition`` (one asset per event) |
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from binance_compat.formats import STP_TO_BINANCE, order_type, status
from common.amounts import plain


def binance_symbol(native: str) -> str:
    return native.replace("_", "")


def depth(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "e": "depthUpdate",
        "E": data["E"],
        "s": binance_symbol(data["s"]),
        "U": data["U"],
        "u": data["u"],
        "b": data["b"],
        "a": data["a"],
    }


def trade(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "e": "trade",
        "E": data["E"],
        "s": binance_symbol(data["s"]),
        "t": data["t"],
        "p": data["p"],
        "q": data["q"],
        "T": data["T"],
        "m": data["m"],
        "M": True,
    }


def kline(data: dict[str, Any]) -> dict[str, Any]:
    k = data["k"]
    symbol = binance_symbol(data["s"])
    return {
        "e": "kline",
        "E": data["E"],
        "s": symbol,
        "k": {
            "t": k["t"],
            "T": k["T"],
            "s": symbol,
            "i": k["i"],
            "f": -1,
            "L": -1,
            "o": k["o"],
            "c": k["c"],
            "h": k["h"],
            "l": k["l"],
            "v": k["v"],
            "n": k["n"],
            "x": k["x"],
            "q": k["q"],
            "V": None,
            "Q": None,
            "B": "0",
        },
    }


def _zero_like(value: str | None, like: str | None) -> str:
    if value is not None:
        return value
    if like and "." in like:
        return "0." + "0" * len(like.split(".")[1])
    return "0"


def ticker(data: dict[str, Any]) -> dict[str, Any]:
    """The native ticker (rolling 24 h) as ``24hrTicker``; prices absent because nothing
    traded are zeros, as Binance writes them."""
    like = data.get("last_price") or data.get("best_bid") or data.get("best_ask")
    return {
        "e": "24hrTicker",
        "E": data["E"],
        "s": binance_symbol(data["symbol"]),
        "p": _zero_like(data.get("price_change"), like),
        "P": data.get("price_change_percent") or "0",
        "c": _zero_like(data.get("last_price"), like),
        "b": _zero_like(data.get("best_bid"), like),
        "a": _zero_like(data.get("best_ask"), like),
        "o": _zero_like(data.get("open_price"), like),
        "h": _zero_like(data.get("high"), like),
        "l": _zero_like(data.get("low"), like),
        "v": data["volume"],
        "q": data["quote_volume"],
        "O": data["open_time"],
        "C": data["close_time"],
        "n": data["trades"],
    }


_EXECUTION = {
    "new": "NEW",
    "trade": "TRADE",
    "filled": "TRADE",
    "cancelled": "CANCELED",
    "expired": "EXPIRED",
    "rejected": "REJECTED",
    "amended": "REPLACED",
    "triggered": "NEW",  # Binance reports a triggered stop as NEW
}
_REJECT = {
    "insufficient_funds": "INSUFFICIENT_BALANCES",
    "duplicate_client_order_id": "DUPLICATE_ORDER",
    "post_only_would_take": "WOULD_MATCH_IMMEDIATELY",
    "market_halted": "MARKET_CLOSED",
    "fok_not_fillable": "NONE",
}


def execution_report(data: dict[str, Any]) -> dict[str, Any] | None:
    """One native ``orders`` update as ``executionReport``.

    A ``filled`` update repeats nothing new after the ``trade`` update that filled the order
    (Binance sends one TRADE with status FILLED), so it is dropped (None); except for a market
    buy by quote amount, whose trades cannot say they filled it (no base quantity to reach):
    its end is a TRADE with status FILLED and nothing executed by itself."""
    if data.get("e") != "order":
        return None  # an order list's update (OCO): not mapped to Binance's listStatus
    update = data.get("update")
    if update == "filled" and data.get("quantity") is not None:
        return None
    fill = data.get("fill") or {}
    reason = data.get("reason")
    native_status = data.get("status")
    if update == "trade" and native_status is None:
        native_status = "partially_filled"
    x = _EXECUTION.get(str(update), "NEW")
    if update == "filled":
        native_status = "filled"
    if update == "expired" and reason == "self_trade_prevention":
        x = "TRADE_PREVENTION"
    if update == "rejected" and reason == "fok_not_fillable":
        x, native_status = "EXPIRED", "rejected"
    price, qty = data.get("price"), data.get("quantity")
    last_price, last_qty = fill.get("price"), fill.get("quantity")
    out = {
        "e": "executionReport",
        "E": data["E"],
        "s": binance_symbol(data["symbol"]),
        "c": data.get("client_order_id") or "",
        "S": str(data.get("side") or "").upper(),
        "o": order_type(data.get("type"), data.get("post_only")),
        "f": "GTC"
        if data.get("type") == "market" or data.get("post_only")
        else (data.get("time_in_force") or "GTC"),
        "q": qty or "0",
        "p": price or "0",
        "P": "0",
        "F": "0",
        "g": -1,
        "C": "",
        "x": x,
        "X": status(native_status, reason) if native_status else "NEW",
        "r": _REJECT.get(str(reason), "NONE") if update == "rejected" else "NONE",
        "i": data["order_id"],
        "l": last_qty or "0",
        "z": data.get("filled_quantity") or "0",
        "L": last_price or "0",
        "n": fill.get("fee") or "0",
        "N": fill.get("fee_asset"),
        "T": data["E"],
        "t": fill.get("trade_id", -1),
        "I": data["E"],
        "w": native_status in ("new", "partially_filled"),
        "m": fill.get("liquidity") == "maker",
        "M": False,
        "O": data.get("created_at") or data["E"],
        "Z": data.get("filled_quote") or "0",
        "Y": _product(last_price, last_qty),
        "Q": data.get("quote_quantity") or "0",
        "W": data.get("created_at") or data["E"],
        "V": STP_TO_BINANCE.get(data.get("stp_mode") or "", "NONE"),
    }
    if update == "cancelled":
        out["C"] = out["c"]
    return out


def _product(price: str | None, qty: str | None) -> str:
    if price is None or qty is None:
        return "0"
    return plain(Decimal(price) * Decimal(qty))


def account_position(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "e": "outboundAccountPosition",
        "E": data["E"],
        "u": data["E"],
        "B": [{"a": data["asset"], "f": data["available"], "l": data["locked"]}],
    }


PRIVATE = {"orders": execution_report, "balances": account_position}
