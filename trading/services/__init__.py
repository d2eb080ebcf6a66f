"""Writes for the trading app, each a command to the matcher (``trading.services.X`` names
every service; the modules say which part of the write path each is).

- ``validation``: an order checked without the engine (market, combination, grid, notional).
- ``writer``: ``OrderWriter``, the one place an order write's guards are built (key check,
  throttle count, read-your-writes marker, placeholder) and its commands sent.
- ``placement``: ``order_place``, ``order_cancel``, ``order_cancel_all``, ``order_amend``.
- ``lists``: order lists (OCO): ``order_list_place_oco``, ``order_list_cancel``.
- ``markets``: operators' market changes and halts, and clearing a persistence halt.
"""

from trading.services.lists import OrderListRejected, order_list_cancel, order_list_place_oco
from trading.services.markets import (
    SYSTEM_WRITER,
    MarketChanged,
    market_add,
    market_change,
    market_set_status,
    market_upsert,
    persistence_retry,
)
from trading.services.placement import (
    REJECT_STATUS,
    AmendRefused,
    OrderRejected,
    order_amend,
    order_cancel,
    order_cancel_all,
    order_place,
)
from trading.services.validation import market_of, order_check
from trading.services.writer import OrderWriter

__all__ = [
    "REJECT_STATUS",
    "SYSTEM_WRITER",
    "AmendRefused",
    "MarketChanged",
    "OrderListRejected",
    "OrderRejected",
    "OrderWriter",
    "market_add",
    "market_change",
    "market_of",
    "market_set_status",
    "market_upsert",
    "order_amend",
    "order_cancel",
    "order_cancel_all",
    "order_check",
    "order_list_cancel",
    "order_list_place_oco",
    "order_place",
    "persistence_retry",
]
