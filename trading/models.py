"""Markets, and the projections of orders and trades.

Order fill state and Trade rows are written only by the persister from the matcher's events
(trading/projections.py, issue 4). Choice values equal the engine's strings (matching.types).
"""

from __future__ import annotations

from decimal import Decimal, localcontext

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import MONEY_DIGITS, Asset, User, money_field, rate_field
from common.amounts import is_whole_atoms

SYMBOL_RE = r"^[A-Z0-9]{2,10}_[A-Z0-9]{2,10}$"


def exact_product(a: Decimal, b: Decimal) -> Decimal:
    """a x b without rounding: two 38-digit factors need at most 76 digits."""
    with localcontext() as ctx:
        ctx.prec = 2 * MONEY_DIGITS
        return a * b


class MarketStatus(models.TextChoices):
    TRADING = "trading"
    HALTED = "halted"


class Side(models.TextChoices):
    BUY = "buy"
    SELL = "sell"


class OrderType(models.TextChoices):
    LIMIT = "limit"
    MARKET = "market"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"
    TAKE_PROFIT_MARKET = "take_profit_market"
    TAKE_PROFIT_LIMIT = "take_profit_limit"


# Conditional orders wait outside the book, untriggered, until the last trade price crosses
# their stop price (docs/order-types.md).
CONDITIONAL_TYPES: frozenset[str] = frozenset(
    {
        OrderType.STOP_MARKET,
        OrderType.STOP_LIMIT,
        OrderType.TAKE_PROFIT_MARKET,
        OrderType.TAKE_PROFIT_LIMIT,
    }
)
# The types that carry a limit price (the market variants carry none).
PRICED_TYPES: frozenset[str] = frozenset(
    {OrderType.LIMIT, OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT}
)


class TimeInForce(models.TextChoices):
    GTC = "GTC", "Good till cancelled"
    IOC = "IOC", "Immediate or cancel"
    FOK = "FOK", "Fill or kill"
    GTD = "GTD", "Good till date"


class StpMode(models.TextChoices):
    EXPIRE_TAKER = "expire_taker"
    EXPIRE_MAKER = "expire_maker"
    EXPIRE_BOTH = "expire_both"


class OrderStatus(models.TextChoices):
    PENDING = "pending"  # acknowledged by the API, not yet processed by the matcher
    UNTRIGGERED = "untriggered"  # a conditional order waiting for its trigger, outside the book
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REJECTED = "rejected"


OPEN_STATUSES = (
    OrderStatus.PENDING,
    OrderStatus.UNTRIGGERED,
    OrderStatus.NEW,
    OrderStatus.PARTIALLY_FILLED,
)


class ListStatus(models.TextChoices):
    """An order list's (OCO's) status (matching.types.ListStatus)."""

    EXECUTING = "executing"  # a leg is still open
    ALL_DONE = "all_done"  # both legs ended
    REJECTED = "rejected"


class ContingencyType(models.TextChoices):
    OCO = "oco"


class Market(models.Model):
    symbol = models.CharField(
        max_length=21,
        unique=True,
        validators=[RegexValidator(SYMBOL_RE, "BASE_QUOTE in upper case, e.g. SOL_USDC.")],
    )
    base = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    quote = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    tick_size = money_field(help_text="Price step, in quote units.")
    lot_size = money_field(help_text="Quantity step, in base units.")
    min_notional = money_field(help_text="Smallest price x quantity, in quote units.")
    maker_fee_rate = rate_field(help_text="0.001 is 0.1 %.")
    taker_fee_rate = rate_field(help_text="0.002 is 0.2 %.")
    status = models.CharField(
        max_length=16, choices=MarketStatus.choices, default=MarketStatus.TRADING
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(condition=~Q(base=F("quote")), name="market_base_ne_quote"),
            models.CheckConstraint(
                condition=Q(tick_size__gt=0, lot_size__gt=0, min_notional__gt=0),
                name="market_sizes_gt_0",
            ),
            models.CheckConstraint(
                condition=Q(
                    maker_fee_rate__gte=0,
                    maker_fee_rate__lt=1,
                    taker_fee_rate__gte=0,
                    taker_fee_rate__lt=1,
                ),
                name="market_fee_rates_0_1",
            ),
        ]

    def __str__(self) -> str:
        return self.symbol

    def clean(self) -> None:
        """Refuse a spec the engine could not represent exactly (see house-style section 5)."""
        if not (self.base_id and self.quote_id):
            return
        errors: dict[str, str] = {}
        base, quote = self.base, self.quote
        if base.pk == quote.pk:
            errors["quote"] = "Base and quote must differ."
        if self.symbol and self.symbol != f"{base.code}_{quote.code}":
            errors["symbol"] = f"The symbol must be {base.code}_{quote.code}."
        if self.tick_size is not None and not is_whole_atoms(self.tick_size, quote.decimals):
            errors["tick_size"] = f"Must be a multiple of one {quote.code} atom ({quote.atom})."
        if self.lot_size is not None and not is_whole_atoms(self.lot_size, base.decimals):
            errors["lot_size"] = f"Must be a multiple of one {base.code} atom ({base.atom})."
        if (
            self.tick_size is not None
            and self.lot_size is not None
            and not is_whole_atoms(exact_product(self.tick_size, self.lot_size), quote.decimals)
        ):
            errors["lot_size"] = (
                f"tick size x lot size must be a whole number of {quote.code} atoms, "
                "so that every notional is exact."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def is_trading(self) -> bool:
        return self.status == MarketStatus.TRADING


class Order(models.Model):
    # Assigned by the API before the matcher sees the order, so a reply can be awaited by id.
    id = models.BigIntegerField(primary_key=True)
    client_order_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    # Every index below starts with user: a separate one on it alone would only slow inserts.
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="orders", db_index=False)
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="orders")
    side = models.CharField(max_length=4, choices=Side.choices)
    type = models.CharField(max_length=20, choices=OrderType.choices)
    time_in_force = models.CharField(
        max_length=3, choices=TimeInForce.choices, default=TimeInForce.GTC
    )
    post_only = models.BooleanField(default=False)
    stp_mode = models.CharField(
        max_length=16, choices=StpMode.choices, default=StpMode.EXPIRE_TAKER
    )
    price = money_field(null=True, blank=True)
    quantity = money_field(null=True, blank=True)
    quote_quantity = money_field(null=True, blank=True)
    # Conditional orders, icebergs, GTD (docs/order-types.md); null when unused. stop_price is
    # the trigger (a trailing stop's is written when it fires); trigger_price the last trade
    # price that crossed it, at triggered_at.
    stop_price = money_field(null=True, blank=True)
    trailing_delta = models.IntegerField(null=True, blank=True, help_text="Basis points.")
    iceberg_quantity = money_field(null=True, blank=True)
    expire_time = models.DateTimeField(null=True, blank=True, help_text="GTD orders.")
    # The OCO the order is a leg of. No FK constraint: the persister writes a list and its
    # legs from the same batch, in whatever order its events come.
    list = models.ForeignKey(
        "OrderList",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="orders",
    )
    trigger_price = money_field(null=True, blank=True)
    triggered_at = models.DateTimeField(null=True, blank=True)
    filled_quantity = money_field(default=0)
    filled_quote = money_field(default=0)
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    reject_reason = models.CharField(max_length=64, blank=True)
    # Why a cancelled or expired order ended (matching.errors.EndReason), e.g. ioc_unfilled.
    expire_reason = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)  # the command's time
    updated_at = models.DateTimeField(default=timezone.now)  # the last event's time
    last_event_seq = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # Partial: any number of orders without a client id; NULLs never collide.
            # A rejected order never consumed its client id (the engine agrees), so a duplicate
            # that was itself rejected can be recorded next to the order that owns the id.
            models.UniqueConstraint(
                fields=["user", "client_order_id"],
                condition=Q(client_order_id__isnull=False) & ~Q(status="rejected"),
                name="order_unique_client_order_id",
            ),
            models.CheckConstraint(
                condition=Q(filled_quantity__gte=0, filled_quote__gte=0), name="order_filled_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(quantity__isnull=True) | Q(quantity__gt=0), name="order_quantity_gt_0"
            ),
            models.CheckConstraint(
                condition=Q(quote_quantity__isnull=True) | Q(quote_quantity__gt=0),
                name="order_quote_quantity_gt_0",
            ),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gt=0), name="order_price_gt_0"
            ),
            models.CheckConstraint(
                condition=~Q(type__in=PRICED_TYPES) | Q(price__isnull=False),
                name="order_limit_has_price",
            ),
            models.CheckConstraint(
                condition=Q(stop_price__isnull=True) | Q(stop_price__gt=0),
                name="order_stop_price_gt_0",
            ),
            models.CheckConstraint(
                condition=Q(iceberg_quantity__isnull=True) | Q(iceberg_quantity__gt=0),
                name="order_iceberg_quantity_gt_0",
            ),
            models.CheckConstraint(
                condition=Q(quantity__isnull=False) | Q(quote_quantity__isnull=False),
                name="order_has_size",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "status"], name="order_user_status"),
            models.Index(fields=["user", "market", "-created_at"], name="order_user_market_time"),
            models.Index(fields=["user", "-created_at"], name="order_user_time"),
        ]

    def __str__(self) -> str:
        size = self.quantity if self.quantity is not None else f"{self.quote_quantity} quote"
        return f"#{self.pk} {self.side} {size} @ {self.price or 'market'} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class OrderList(models.Model):
    """An order list (an OCO: a limit leg and a stop leg), a projection like Order: its row is
    born from the matcher's OrderListAccepted or OrderListRejected, its status moves with
    OrderListDone (trading/projections.py). Its legs point at it (``Order.list``)."""

    # Assigned by the API from the order ids' blocks (trading/ids.py), so a list id is never
    # also an order id.
    id = models.BigIntegerField(primary_key=True)
    client_list_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="order_lists", db_index=False
    )
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="order_lists")
    contingency_type = models.CharField(
        max_length=8, choices=ContingencyType.choices, default=ContingencyType.OCO
    )
    status = models.CharField(max_length=16, choices=ListStatus.choices)
    reject_reason = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)  # the command's time
    updated_at = models.DateTimeField(default=timezone.now)  # the last event's time
    last_event_seq = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # As for orders: a rejected list never consumed its client id.
            models.UniqueConstraint(
                fields=["user", "client_list_id"],
                condition=Q(client_list_id__isnull=False) & ~Q(status="rejected"),
                name="order_list_unique_client_list_id",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="order_list_user_time"),
        ]

    def __str__(self) -> str:
        return f"list #{self.pk} {self.contingency_type} ({self.status})"


class Trade(models.Model):
    id = models.BigAutoField(primary_key=True)
    # The persister inserts a trade per fill; each index is written on every insert, so no
    # column gets one of its own that a composite index already starts with: market
    # (trade_unique_per_market, also read backwards for the newest trades), maker_user and
    # taker_user (trade_maker_time, trade_taker_time).
    market = models.ForeignKey(
        Market, on_delete=models.PROTECT, related_name="trades", db_index=False
    )
    trade_id = models.BigIntegerField(help_text="The engine's id, sequential per market.")
    price = money_field()
    quantity = money_field()
    quote_quantity = money_field()
    # No FK constraint: the persister may write a trade in the same batch as (or before) its
    # orders' rows; the engine guarantees both exist.
    maker_order = models.ForeignKey(
        Order, on_delete=models.DO_NOTHING, db_constraint=False, related_name="maker_trades"
    )
    taker_order = models.ForeignKey(
        Order, on_delete=models.DO_NOTHING, db_constraint=False, related_name="taker_trades"
    )
    maker_user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="maker_trades", db_index=False
    )
    taker_user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="taker_trades", db_index=False
    )
    taker_side = models.CharField(max_length=4, choices=Side.choices)
    # Fee assets are read with their trade, never searched by: no index (one fewer write per
    # persisted trade each; deleting an asset, a PROTECT check, scans instead).
    maker_fee = money_field()
    maker_fee_asset = models.ForeignKey(
        Asset, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    taker_fee = money_field()
    taker_fee_asset = models.ForeignKey(
        Asset, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    executed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["market", "trade_id"], name="trade_unique_per_market"),
            models.CheckConstraint(
                condition=Q(price__gt=0, quantity__gt=0, quote_quantity__gt=0),
                name="trade_amounts_gt_0",
            ),
            models.CheckConstraint(
                condition=Q(maker_fee__gte=0, taker_fee__gte=0), name="trade_fees_gte_0"
            ),
        ]
        indexes = [
            models.Index(fields=["maker_user", "-executed_at"], name="trade_maker_time"),
            models.Index(fields=["taker_user", "-executed_at"], name="trade_taker_time"),
        ]

    def __str__(self) -> str:
        return f"{self.market_id}#{self.trade_id}: {self.quantity} @ {self.price}"

    @property
    def is_buyer_maker(self) -> bool:
        return self.taker_side == Side.SELL


class EventCheckpoint(models.Model):
    """How far the persister has applied one shard's events; committed with each batch.

    ``halted_*``: the shard's persistence stopped on an event that fails to persist (the
    matcher and reads go on); set by the persister, cleared by ``resume_persister``
    (pipeline/persister.py, docs/reliability.md "A poisoned event").
    """

    stream = models.CharField(max_length=32, primary_key=True)  # the shard name
    last_seq = models.BigIntegerField(default=0)
    last_cmd_id = models.CharField(max_length=32, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    halted_at = models.DateTimeField(null=True, blank=True)
    halted_seq = models.BigIntegerField(null=True, blank=True)  # the event that failed
    # (database defaults too: rows are also inserted in SQL, common/bulk.py)
    halted_entry = models.CharField(max_length=32, blank=True, default="", db_default="")
    halt_reason = models.TextField(blank=True, default="", db_default="")

    def __str__(self) -> str:
        return f"{self.stream} @ {self.last_seq}"


class OrderIdBlock(models.Model):
    """One row per block of order ids handed to a web process (trading/ids.py)."""

    id = models.BigAutoField(primary_key=True)

    def __str__(self) -> str:
        return f"order id block {self.pk}"
