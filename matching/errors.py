"""Stable reason codes. Rejections are values; an exception from the engine is a bug."""

from __future__ import annotations

from enum import StrEnum


class RejectReason(StrEnum):
    """Why a command was refused, or why an order ended early. Codes are part of the API."""

    # market / spec
    UNKNOWN_MARKET = "unknown_market"
    MARKET_EXISTS = "market_exists"
    INVALID_MARKET_SPEC = "invalid_market_spec"
    MARKET_NOT_EMPTY = "market_not_empty"
    MARKET_HALTED = "market_halted"
    # order input
    INVALID_PRICE = "invalid_price"
    INVALID_QUANTITY = "invalid_quantity"
    INVALID_ORDER = "invalid_order"
    BELOW_MIN_NOTIONAL = "below_min_notional"
    ABOVE_MAX_NOTIONAL = "above_max_notional"
    DUPLICATE_ORDER_ID = "duplicate_order_id"
    DUPLICATE_CLIENT_ORDER_ID = "duplicate_client_order_id"
    # order outcome
    INSUFFICIENT_FUNDS = "insufficient_funds"
    POST_ONLY_WOULD_TAKE = "post_only_would_take"
    FOK_NOT_FILLABLE = "fok_not_fillable"
    ORDER_NOT_FOUND = "order_not_found"
    # conditional orders, order lists, GTD, amend (docs/order-types.md)
    INVALID_STOP_PRICE = "invalid_stop_price"
    WOULD_TRIGGER_IMMEDIATELY = "would_trigger_immediately"
    NO_REFERENCE_PRICE = "no_reference_price"
    INVALID_EXPIRE_TIME = "invalid_expire_time"
    INVALID_ORDER_LIST = "invalid_order_list"
    DUPLICATE_LIST_ID = "duplicate_list_id"
    DUPLICATE_CLIENT_LIST_ID = "duplicate_client_list_id"
    ORDER_LIST_NOT_FOUND = "order_list_not_found"
    ORDER_NOT_AMENDABLE = "order_not_amendable"
    # transfers
    INVALID_AMOUNT = "invalid_amount"
    UNKNOWN_TRANSFER = "unknown_transfer"
    DUPLICATE_TRANSFER = "duplicate_transfer"
    BALANCE_LIMIT_EXCEEDED = "balance_limit_exceeded"
    # added by the engine core
    INVALID_COMMAND = "invalid_command"


class EndReason(StrEnum):
    """Why an order left the book without filling completely (OrderCancelled / OrderExpired)."""

    USER_CANCELLED = "user_cancelled"
    CANCEL_ALL = "cancel_all"
    IOC_UNFILLED = "ioc_unfilled"
    NO_LIQUIDITY = "no_liquidity"
    SELF_TRADE_PREVENTION = "self_trade_prevention"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    MARKET_REMOVED = "market_removed"
    GTD_EXPIRED = "gtd_expired"
    ORDER_LIST = "order_list"  # the other leg of its OCO filled, triggered or was cancelled


class EngineInvariantError(AssertionError):
    """The engine found its own state inconsistent. Never caught on the hot path."""
