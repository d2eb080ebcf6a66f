"""A Binance new-order request (``POST /api/v3/order``, ``order/test``, ``cancelReplace``) as our
``OrderRequest``: the same object ``POST /api/v1/order`` builds, so the same service checks it.

| Binance | ours |
|---|---|
| ``LIMIT`` + ``timeInForce`` GTC / IOC / FOK | ``limit`` with that time in force |
| ``LIMIT_MAKER`` | ``limit``, GTC, ``post_only`` |
| ``MARKET`` + ``quantity`` | ``market`` (IOC) by base quantity |
| ``MARKET`` BUY + ``quoteOrderQty`` | ``market`` buy by quote amount |
| ``selfTradePreventionMode`` EXPIRE_TAKER (default) / EXPIRE_MAKER / EXPIRE_BOTH | ``stp_mode`` |
| ``newClientOrderId`` | ``client_order_id`` (``^[A-Za-z0-9._:-]{1,36}$``) |

Stop, take-profit, iceberg, trailing and pegged orders, ``NONE``/``DECREMENT``/``TRANSFER``
self-trade prevention and a ``quoteOrderQty`` market SELL are refused with Binance's codes.
"""

from __future__ import annotations

import re

from binance_compat.errors import BinanceError, mandatory
from binance_compat.formats import STP_FROM_BINANCE
from binance_compat.params import Params
from matching.types import OrderType, Side, StpMode, TimeInForce
from trading.orders import OrderRequest
from trading.serializers import CLIENT_ORDER_ID_RE

_CLIENT_ID = re.compile(CLIENT_ORDER_ID_RE)
NEW_ORDER_PARAMS = (
    "symbol", "side", "type", "timeInForce", "quantity", "quoteOrderQty", "price",
    "newClientOrderId", "newOrderRespType", "selfTradePreventionMode",
    # refused with a precise message below rather than as unknown parameters
    "stopPrice", "icebergQty", "trailingDelta", "pegPriceType", "pegOffsetValue",
    "pegOffsetType", "strategyId", "strategyType",
)  # fmt: skip
RESP_TYPES = ("ACK", "RESULT", "FULL")
_UNSUPPORTED_TYPES = {
    "STOP_LOSS": "Stop loss orders are not supported for this symbol.",
    "STOP_LOSS_LIMIT": "Stop loss limit orders are not supported for this symbol.",
    "TAKE_PROFIT": "Take profit orders are not supported for this symbol.",
    "TAKE_PROFIT_LIMIT": "Take profit limit orders are not supported for this symbol.",
}
_SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}
_TIFS = {"GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}


def not_required(name: str) -> BinanceError:
    return BinanceError(-1106, f"Parameter '{name}' sent when not required.")


def client_id(params: Params, name: str) -> str | None:
    value = params.text(name)
    if value is not None and not _CLIENT_ID.match(value):
        raise BinanceError(
            -1100, f"Illegal characters found in parameter '{name}'; legal range is "
            f"'{CLIENT_ORDER_ID_RE}'."
        )  # fmt: skip
    return value


def new_order(params: Params, native_symbol: str, prefix: str = "") -> tuple[OrderRequest, str]:
    """The order and the response type asked for (ACK, RESULT or FULL)."""
    for name, message in (
        ("icebergQty", "Iceberg orders are not supported for this symbol."),
        ("trailingDelta", "Trailing stop orders are not supported for this symbol."),
        ("pegPriceType", "Pegged orders are not supported for this symbol."),
    ):
        if params.values.get(name) is not None:
            raise BinanceError(-2010, message)
    for name in ("stopPrice", "pegOffsetValue", "pegOffsetType", "strategyId", "strategyType"):
        if params.values.get(name) is not None:
            raise not_required(name)
    side_text = params.text("side", required=True)
    side = _SIDES.get(side_text or "")
    if side is None:
        raise BinanceError(-1117, "Invalid side.")
    kind = params.text("type", required=True) or ""
    if kind in _UNSUPPORTED_TYPES:
        raise BinanceError(-2010, _UNSUPPORTED_TYPES[kind])
    if kind not in ("LIMIT", "LIMIT_MAKER", "MARKET"):
        raise BinanceError(-1116, "Invalid orderType.")
    tif_text = params.text("timeInForce")
    price = params.decimal("price")
    quantity = params.decimal("quantity")
    quote = params.decimal("quoteOrderQty")
    if kind == "LIMIT":
        if tif_text is None:
            raise mandatory("timeInForce")
        if tif_text not in _TIFS:
            raise BinanceError(-1115, "Invalid timeInForce.")
        tif = _TIFS[tif_text]
    elif tif_text is not None:
        raise not_required("timeInForce")
    else:
        tif = TimeInForce.GTC if kind == "LIMIT_MAKER" else TimeInForce.IOC
    if kind in ("LIMIT", "LIMIT_MAKER"):
        if quantity is None:
            raise mandatory("quantity")
        if price is None:
            raise mandatory("price")
        if quote is not None:
            raise not_required("quoteOrderQty")
    else:
        if price is not None:
            raise not_required("price")
        if quantity is None and quote is None:
            raise BinanceError(
                -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"
            )
        if quantity is not None and quote is not None:
            raise not_required("quoteOrderQty")
        if quote is not None and side is Side.SELL:
            raise BinanceError(-1014, "Unsupported order combination.")
    stp_text = params.text("selfTradePreventionMode")
    stp = StpMode.EXPIRE_TAKER
    if stp_text is not None:
        if stp_text not in STP_FROM_BINANCE:
            raise BinanceError(
                -1130, "Data sent for parameter 'selfTradePreventionMode' is not valid."
            )
        stp = StpMode(STP_FROM_BINANCE[stp_text])
    resp = params.choice(
        "newOrderRespType", RESP_TYPES, -1130,
        "Data sent for parameter 'newOrderRespType' is not valid.",
    )  # fmt: skip
    if resp is None:
        resp = "FULL" if kind in ("LIMIT", "MARKET") else "ACK"
    req = OrderRequest(
        symbol=native_symbol,
        side=side,
        type=OrderType.MARKET if kind == "MARKET" else OrderType.LIMIT,
        time_in_force=tif,
        price=price,
        quantity=quantity,
        quote_quantity=quote,
        post_only=kind == "LIMIT_MAKER",
        stp_mode=stp,
        client_order_id=client_id(
            params, prefix + "newClientOrderId" if prefix else "newClientOrderId"
        ),
    )
    return req, resp
