"""Value types shared by the engine core and everything that talks to it.

String values are part of the wire format (Redis streams, REST, WebSocket) and of the database
choices: never rename them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"
    # conditional: wait outside the book (status ``untriggered``) until the last trade price
    # crosses ``stop_price``, then behave as a market or limit order (docs/order-types.md)
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"
    TAKE_PROFIT_MARKET = "take_profit_market"
    TAKE_PROFIT_LIMIT = "take_profit_limit"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    GTD = "GTD"  # good till ``expire_time`` (unix ms), expired by a ``Tick`` command


class StpMode(StrEnum):
    """What happens when an order would trade against the same account's resting order."""

    EXPIRE_TAKER = "expire_taker"
    EXPIRE_MAKER = "expire_maker"
    EXPIRE_BOTH = "expire_both"


class MarketStatus(StrEnum):
    TRADING = "trading"
    HALTED = "halted"


class OrderStatus(StrEnum):
    # ``pending`` exists only outside the engine: acknowledged by the API, not yet matched.
    PENDING = "pending"
    UNTRIGGERED = "untriggered"  # a stop / take-profit waiting for its trigger, outside the book
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"


class ListStatus(StrEnum):
    """An order list's (OCO's) status."""

    EXECUTING = "executing"  # at least one leg is still open
    ALL_DONE = "all_done"  # every leg ended
    REJECTED = "rejected"


class BalanceReason(StrEnum):
    """Why a balance moved; one ledger entry per (account, asset, reason, cause)."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRADE = "trade"
    FEE = "fee"
    HOLD = "hold"
    RELEASE = "release"


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


@dataclass(frozen=True, slots=True)
class AssetSpec:
    """An asset; one atom is ``10 ** -decimals`` of a unit."""

    code: str
    decimals: int


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """A market as an operator writes it, in decimal units.

    ``matching.arith.compile_market`` turns it into the integer factors the engine uses and
    refuses a spec whose tick x lot is not a whole number of quote atoms.
    Fee rates are fractions (``Decimal("0.001")`` is 0.1 %) with at most 6 decimal places.
    """

    symbol: str
    base: AssetSpec
    quote: AssetSpec
    tick_size: Decimal
    lot_size: Decimal
    min_notional: Decimal
    maker_fee_rate: Decimal
    taker_fee_rate: Decimal
    status: MarketStatus = MarketStatus.TRADING
