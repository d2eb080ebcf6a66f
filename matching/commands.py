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
    """Hold ``amount`` atoms for a withdrawal until it is settled or released."""

    command_id: str
    ts: int
    transfer_id: str
    account: int
    asset: str
    amount: int


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


class PlaceOrder(NamedTuple):
    """Place an order. ``order_id`` is assigned by the sender and globally unique.

    LIMIT needs ``price`` and ``quantity``. MARKET sell needs ``quantity``; MARKET buy needs
    exactly one of ``quantity`` (base lots) or ``quote_quantity`` (quote atoms).
    ``time_in_force`` is ignored for MARKET orders (they never rest).
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
    )
}
