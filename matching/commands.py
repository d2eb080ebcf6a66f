"""Commands: what the matcher is asked to do, in the imperative.

Every command carries ``command_id`` (unique, chosen by the sender, used to route the reply) and
``ts`` (nanoseconds since the epoch, stamped by the sender: the engine never reads a clock, so a
replay gives identical events). Amounts are integers: prices in ticks, quantities in lots,
balances in atoms (see ``matching.arith``).

Commands are NamedTuples: immutable, cheap to build, and their field order is their wire order.
"""

from __future__ import annotations

from typing import NamedTuple

from matching.types import MarketSpec, MarketStatus, OrderType, Side, StpMode, TimeInForce


class AddMarket(NamedTuple):
    command_id: str
    ts: int
    spec: MarketSpec


class UpdateMarket(NamedTuple):
    """Change fees, minimum notional or status; tick and lot only while the book is empty."""

    command_id: str
    ts: int
    spec: MarketSpec


class SetMarketStatus(NamedTuple):
    """Halt or resume. A halted market keeps its book and accepts cancels, not new orders."""

    command_id: str
    ts: int
    symbol: str
    status: MarketStatus


class Deposit(NamedTuple):
    """Credit ``amount`` atoms. Applying the same ``transfer_id`` twice is a no-op.

    ``decimals`` are the asset's (the engine knows an asset's decimals only from its markets,
    and a deposit may be of an asset none of them trades): they set the bound on what the
    matcher may hold of it (``matching.arith.max_balance_atoms``). None (commands logged before
    the field existed): the decimals of a market that has the asset.
    """

    command_id: str
    ts: int
    transfer_id: str
    account: int
    asset: str
    amount: int
    decimals: int | None = None


class Withdraw(NamedTuple):
    """Hold ``amount + fee`` atoms for a withdrawal until it is settled or released.

    ``amount`` leaves the venue when the withdrawal is settled; ``fee`` then goes to the fee
    account (a release returns both). 0 for moves between shards (and for commands logged
    before the field existed).
    """

    command_id: str
    ts: int
    transfer_id: str
    account: int
    asset: str
    amount: int
    fee: int = 0


class SettleWithdrawal(NamedTuple):
    """The held funds left the venue: remove them from locked."""

    command_id: str
    ts: int
    transfer_id: str


class ReleaseWithdrawal(NamedTuple):
    """The withdrawal was rejected or cancelled: return the held funds to available."""

    command_id: str
    ts: int
    transfer_id: str


class ReportTotals(NamedTuple):
    """Report, per asset, the sums of every account's balances and what entered and left
    (reconciliation). Changes nothing but the event sequence."""

    command_id: str
    ts: int


class PlaceOrder(NamedTuple):
    """Place an order. ``order_id`` is assigned by the sender and globally unique.

        LIMIT needs ``price`` and ``quantity``. MARKET sell needs ``quantity``; MARKET buy needs
        exactly one of ``quantity`` (base lots) or ``quote_quantity`` (quote atoms).
        ``time_in_force`` is ignored for MARKET orders (they never rest). The conditional types
    (``stop_*``, ``take_profit_*``) need ``stop_price`` (or, for ``stop_*``, ``trailing_delta``);
    their ``price`` is the limit of the ``*_limit`` variants. See docs/order-types.md.
    """

    command_id: str
    ts: int
    order_id: int
    account: int
    symbol: str
    side: Side
    type: OrderType
    time_in_force: TimeInForce
    price: int | None
    quantity: int | None
    quote_quantity: int | None
    post_only: bool
    stp_mode: StpMode
    client_order_id: str | None
    # conditional orders, icebergs, GTD (docs/order-types.md); None: not used. Trailing
    # defaults so commands logged before they existed still decode.
    stop_price: int | None = None  # ticks: the trigger of stop_* / take_profit_* orders
    trailing_delta: int | None = None  # basis points: a trailing stop (stop_* without stop_price)
    iceberg_quantity: int | None = None  # lots shown in the book (GTC/GTD limits)
    expire_time: int | None = None  # unix ms, with time_in_force GTD


class PlaceOrderList(NamedTuple):
    """Place an OCO: a limit leg (the take-profit side, must not take) and a stop leg
    (``stop_limit`` when ``stop_limit_price`` is given, else ``stop_market``), both on ``side``
    for ``quantity`` lots. A fill or trigger of one leg cancels the other in the same command;
    the hold is the larger of the two legs' holds, not their sum. ``list_id``,
    ``limit_order_id`` and ``stop_order_id`` are assigned by the sender, like order ids.
    """

    command_id: str
    ts: int
    list_id: int
    account: int
    symbol: str
    side: Side
    quantity: int
    price: int  # the limit leg's
    stop_price: int  # the stop leg's trigger
    stop_limit_price: int | None  # None: the stop leg is a stop_market
    stop_time_in_force: TimeInForce  # the stop-limit leg's once triggered (GTC, IOC, FOK)
    limit_order_id: int
    stop_order_id: int
    client_list_id: str | None
    limit_client_order_id: str | None
    stop_client_order_id: str | None
    stp_mode: StpMode


class CancelOrderList(NamedTuple):
    """Cancel every open leg of one of ``account``'s order lists, by ``list_id`` or else by
    ``client_list_id``."""

    command_id: str
    ts: int
    account: int
    symbol: str
    list_id: int | None
    client_list_id: str | None


class Tick(NamedTuple):
    """The matcher's clock, logged like any command: expires every GTD order whose
    ``expire_time`` (ms) x 1,000,000 is at or before ``ts`` (ns). Emits nothing otherwise."""

    command_id: str
    ts: int


class CancelOrder(NamedTuple):
    """Cancel one of ``account``'s orders, by ``order_id`` or else by ``client_order_id``."""

    command_id: str
    ts: int
    account: int
    symbol: str
    order_id: int | None
    client_order_id: str | None


class CancelAll(NamedTuple):
    """Cancel every open order of ``account`` (in one market when ``symbol`` is given)."""

    command_id: str
    ts: int
    account: int
    symbol: str | None


class AmendOrder(NamedTuple):
    """Change a resting order. ``new_quantity`` is the new total (original) quantity in lots.

    Reducing the quantity keeps time priority; a price change or an increase loses it.
    """

    command_id: str
    ts: int
    account: int
    symbol: str
    order_id: int | None
    client_order_id: str | None
    new_price: int | None
    new_quantity: int | None


Command = (
    AddMarket
    | UpdateMarket
    | SetMarketStatus
    | Deposit
    | Withdraw
    | SettleWithdrawal
    | ReleaseWithdrawal
    | PlaceOrder
    | CancelOrder
    | CancelAll
    | AmendOrder
    | ReportTotals
    | PlaceOrderList
    | CancelOrderList
    | Tick
)

COMMAND_TYPES: dict[str, type[Command]] = {
    cls.__name__: cls
    for cls in (
        AddMarket,
        UpdateMarket,
        SetMarketStatus,
        Deposit,
        Withdraw,
        SettleWithdrawal,
        ReleaseWithdrawal,
        PlaceOrder,
        CancelOrder,
        CancelAll,
        AmendOrder,
        ReportTotals,
        PlaceOrderList,
        CancelOrderList,
        Tick,
    )
}
