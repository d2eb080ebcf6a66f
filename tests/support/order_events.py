"""Order events of one SOL_USDC buy order, as the engine would emit them, for the projection
guard tests (the seq and the command's time are the caller's)."""

from __future__ import annotations

from matching.errors import EndReason
from matching.events import OrderAccepted, OrderAmended, OrderCancelled, OrderFilled
from matching.types import OrderType, Side, StpMode, TimeInForce

SYMBOL = "SOL_USDC"
ORDER = 7001
T0 = 1_760_000_000_000_000_000


def accepted(seq: int, account: int) -> OrderAccepted:
    return OrderAccepted(
        seq, f"c{seq}", T0 + seq, ORDER, account, SYMBOL, Side.BUY, OrderType.LIMIT,
        TimeInForce.GTC, 15000, 100, None, False, StpMode.EXPIRE_TAKER, None, None, None, None,
        None, None,
    )  # fmt: skip


def amended(seq: int, account: int, price: int) -> OrderAmended:
    return OrderAmended(seq, f"c{seq}", T0 + seq, ORDER, account, SYMBOL, price, 100, False)


def cancelled(seq: int, account: int) -> OrderCancelled:
    return OrderCancelled(
        seq, f"c{seq}", T0 + seq, ORDER, account, SYMBOL, EndReason.USER_CANCELLED, 0, 0
    )


def filled(seq: int, account: int) -> OrderFilled:
    return OrderFilled(seq, f"c{seq}", T0 + seq, ORDER, account, SYMBOL, 100, 1_500_000)
