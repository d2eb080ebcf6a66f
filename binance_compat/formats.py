"""Our shapes (trading/orders.py's order dict, trade rows) in Binance's field names.

Pure functions, no I/O. Money stays the exact decimal text the native API gives; a value
Binance always shows and we do not have (a market order's price) is ``"0"``, as Binance
writes it.

Statuses: ``pending`` -> ``PENDING_NEW`` (accepted and durable, not matched yet: the native
202), ``new`` -> ``NEW``, ``partially_filled`` -> ``PARTIALLY_FILLED``, ``filled`` ->
``FILLED``, ``cancelled`` -> ``CANCELED``, ``expired`` -> ``EXPIRED`` or, when self-trade
prevention ended it, ``EXPIRED_IN_MATCH``, ``rejected`` -> ``REJECTED`` (a fill-or-kill that
could not fill is ``EXPIRED``, as on Binance).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from common.amounts import plain

_STATUS = {
    "pending": "PENDING_NEW",
    "new": "NEW",
    "partially_filled": "PARTIALLY_FILLED",
    "filled": "FILLED",
    "cancelled": "CANCELED",
    "expired": "EXPIRED",
    "rejected": "REJECTED",
}
STP_TO_BINANCE = {
    "expire_taker": "EXPIRE_TAKER",
    "expire_maker": "EXPIRE_MAKER",
    "expire_both": "EXPIRE_BOTH",
}
STP_FROM_BINANCE = {v: k for k, v in STP_TO_BINANCE.items()}
STP_EXPIRY = "self_trade_prevention"


def status(native: str | None, reason: str | None = None) -> str:
    if native == "expired" and reason == STP_EXPIRY:
        return "EXPIRED_IN_MATCH"
    if native == "rejected" and reason == "fok_not_fillable":
        return "EXPIRED"
    return _STATUS.get(native or "", "NEW")


def order_type(native_type: str | None, post_only: bool | None) -> str:
    if native_type == "market":
        return "MARKET"
    return "LIMIT_MAKER" if post_only else "LIMIT"


def time_in_force(order: dict[str, Any]) -> str:
    # Binance shows GTC for MARKET and LIMIT_MAKER orders.
    if order.get("type") == "market" or order.get("post_only"):
        return "GTC"
    return str(order.get("time_in_force") or "GTC")


def _zero(value: str | None) -> str:
    return "0" if value is None else value


def order_result(order: dict[str, Any], binance_symbol: str) -> dict[str, Any]:
    """The RESULT shape of ``POST /order`` (and the common part of the others)."""
    reason = order.get("expire_reason") or order.get("reject_reason")
    out = {
        "symbol": binance_symbol,
        "orderId": order["order_id"],
        "orderListId": -1,
        "clientOrderId": order.get("client_order_id") or "",
        "transactTime": order.get("updated_at"),
        "price": _zero(order.get("price")),
        "origQty": _zero(order.get("quantity")),
        "executedQty": order.get("filled_quantity") or "0",
        "origQuoteOrderQty": _zero(order.get("quote_quantity")),
        "cummulativeQuoteQty": order.get("filled_quote") or "0",
        "status": status(order.get("status"), reason),
        "timeInForce": time_in_force(order),
        "type": order_type(order.get("type"), order.get("post_only")),
        "side": str(order.get("side") or "").upper(),
        "workingTime": order.get("created_at") if order.get("status") != "pending" else -1,
        "selfTradePreventionMode": STP_TO_BINANCE.get(order.get("stp_mode") or "", "NONE"),
    }
    if order.get("expire_reason") == STP_EXPIRY:
        out["preventedQuantity"] = _remaining(order)
    return out


def _remaining(order: dict[str, Any]) -> str:
    qty, done = order.get("quantity"), order.get("filled_quantity") or "0"
    return "0" if qty is None else plain(Decimal(qty) - Decimal(done))


def order_ack(order: dict[str, Any], binance_symbol: str) -> dict[str, Any]:
    return {
        "symbol": binance_symbol,
        "orderId": order["order_id"],
        "orderListId": -1,
        "clientOrderId": order.get("client_order_id") or "",
        "transactTime": order.get("updated_at"),
    }


def fills(order: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "price": f["price"],
            "qty": f["quantity"],
            "commission": f["fee"],
            "commissionAsset": f["fee_asset"],
            "tradeId": f["trade_id"],
        }
        for f in order.get("fills") or ()
    ]


def order_full(order: dict[str, Any], binance_symbol: str) -> dict[str, Any]:
    return {**order_result(order, binance_symbol), "fills": fills(order)}


def order_query(order: dict[str, Any], binance_symbol: str) -> dict[str, Any]:
    """``GET /order``, ``openOrders``, ``allOrders``."""
    result = order_result(order, binance_symbol)
    del result["transactTime"]
    native = order.get("status")
    return {
        **result,
        "stopPrice": "0",
        "icebergQty": "0",
        "time": order.get("created_at"),
        "updateTime": order.get("updated_at"),
        "isWorking": native in ("new", "partially_filled"),
    }


def order_cancelled(
    order: dict[str, Any], binance_symbol: str, cancel_client_id: str | None
) -> dict[str, Any]:
    """``DELETE /order`` and each of ``DELETE /openOrders``."""
    result = order_result(order, binance_symbol)
    return {
        "symbol": binance_symbol,
        "origClientOrderId": result["clientOrderId"],
        "orderId": result["orderId"],
        "orderListId": -1,
        "clientOrderId": cancel_client_id or "",
        "transactTime": result["transactTime"],
        **{
            k: result[k]
            for k in (
                "price",
                "origQty",
                "executedQty",
                "origQuoteOrderQty",
                "cummulativeQuoteQty",
                "status",
                "timeInForce",
                "type",
                "side",
                "selfTradePreventionMode",
            )
        },
    }


def cancel_pending(
    order_id: int | None, orig_client_id: str | None, binance_symbol: str, now_ms: int
) -> dict[str, Any]:
    """A cancel the matcher has not answered yet: queued, it applies in order (the native
    202). Binance's ``PENDING_CANCEL`` says exactly that."""
    return {
        "symbol": binance_symbol,
        "origClientOrderId": orig_client_id or "",
        "orderId": order_id if order_id is not None else -1,
        "orderListId": -1,
        "clientOrderId": "",
        "transactTime": now_ms,
        "status": "PENDING_CANCEL",
    }


def my_trade(trade: dict[str, Any], binance_symbol: str) -> dict[str, Any]:
    """One of the caller's fills (trading.orders.row_trade) as ``GET /myTrades`` shows it."""
    return {
        "symbol": binance_symbol,
        "id": trade["trade_id"],
        "orderId": trade["order_id"],
        "orderListId": -1,
        "price": trade["price"],
        "qty": trade["quantity"],
        "quoteQty": trade["quote_quantity"],
        "commission": trade["fee"],
        "commissionAsset": trade["fee_asset"],
        "time": trade["time"],
        "isBuyer": trade["side"] == "buy",
        "isMaker": trade["liquidity"] == "maker",
        "isBestMatch": True,
    }
