"""Events of the order types of issue 19 (docs/order-types.md), as the engine would emit them
for SOL_USDC (tick 0.01, lot 0.01), for the projection and stream tests (the seq and the
command's time are the caller's)."""

from __future__ import annotations

from typing import Any

from matching.errors import EndReason, RejectReason
from matching.events import (
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderListAccepted,
    OrderListDone,
    OrderListRejected,
    OrderTriggered,
    TradeExecuted,
)
from matching.types import OrderType, Side, StpMode, TimeInForce

SYMBOL = "SOL_USDC"
T0 = 1_760_000_000_000_000_000
STOP = 8101  # a stop_limit sell: 1.00 SOL, stop 140.00, limit 139.50
LIST, LIMIT_LEG, STOP_LEG = 8200, 8201, 8202  # an OCO sell of 1.00 SOL


def accepted(seq: int, order_id: int, account: int, **kw: Any) -> OrderAccepted:
    values: dict[str, Any] = {
        "side": Side.SELL,
        "type": OrderType.STOP_LIMIT,
        "time_in_force": TimeInForce.GTC,
        "price": 13950,
        "quantity": 100,
        "quote_quantity": None,
        "post_only": False,
        "stp_mode": StpMode.EXPIRE_TAKER,
        "client_order_id": None,
        "stop_price": 14000,
        "trailing_delta": None,
        "iceberg_quantity": None,
        "expire_time": None,
        "list_id": None,
    }
    values.update(kw)
    return OrderAccepted(seq, f"c{seq}", T0 + seq, order_id, account, SYMBOL, **values)


def triggered(seq: int, order_id: int, account: int, trigger: int = 13990) -> OrderTriggered:
    return OrderTriggered(
        seq, f"c{seq}", T0 + seq, order_id, account, SYMBOL, OrderType.LIMIT, trigger, 14000
    )


def trade(
    seq: int, maker: int, taker: int, maker_account: int, taker_account: int
) -> TradeExecuted:
    # 1.00 SOL at 139.50 (139.50 USDC), the taker sells
    return TradeExecuted(
        seq, f"c{seq}", T0 + seq, SYMBOL, seq, 13950, 100, 139_500_000, Side.SELL, maker, taker,
        maker_account, taker_account, 1_000_000, "SOL", 279_000, "USDC", 100, 139_500_000, 100,
        139_500_000,
    )  # fmt: skip


def filled(seq: int, order_id: int, account: int) -> OrderFilled:
    return OrderFilled(seq, f"c{seq}", T0 + seq, order_id, account, SYMBOL, 100, 139_500_000)


def cancelled(
    seq: int, order_id: int, account: int, reason: EndReason = EndReason.ORDER_LIST
) -> OrderCancelled:
    return OrderCancelled(seq, f"c{seq}", T0 + seq, order_id, account, SYMBOL, reason, 0, 0)


def list_accepted(
    seq: int, account: int, client_list_id: str | None = "oco-1"
) -> OrderListAccepted:
    return OrderListAccepted(
        seq, f"c{seq}", T0 + seq, LIST, account, SYMBOL, client_list_id, LIMIT_LEG, STOP_LEG
    )


def list_legs(seq: int, account: int) -> list[OrderAccepted]:
    """The legs' acceptances: the limit leg at 160.00, the stop leg a stop_market at 140.00."""
    return [
        accepted(
            seq, LIMIT_LEG, account, type=OrderType.LIMIT, price=16000, stop_price=None,
            list_id=LIST,
        ),
        accepted(
            seq + 1, STOP_LEG, account, type=OrderType.STOP_MARKET, price=None, list_id=LIST,
        ),
    ]  # fmt: skip


def list_rejected(seq: int, account: int, reason: RejectReason) -> OrderListRejected:
    return OrderListRejected(
        seq, f"c{seq}", T0 + seq, LIST, account, SYMBOL, "oco-1", LIMIT_LEG, STOP_LEG, reason
    )


def list_done(seq: int, account: int) -> OrderListDone:
    return OrderListDone(seq, f"c{seq}", T0 + seq, LIST, account, SYMBOL)
