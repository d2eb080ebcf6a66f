from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.admin import ProjectionAdmin, run_action
from trading import services
from trading.models import EventCheckpoint, Market, MarketStatus, Order, OrderIdBlock, Trade


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin):
    list_display = (
        "symbol",
        "base",
        "quote",
        "tick_size",
        "lot_size",
        "min_notional",
        "maker_fee_rate",
        "taker_fee_rate",
        "status",
    )
    list_filter = ("status",)
    list_select_related = ("base", "quote")
    search_fields = ("symbol",)
    actions = ("halt", "resume")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Status moves only through the halt/resume actions (a matcher command from issue 4);
        # the assets of an existing market never change.
        return ("status", "created_at") + (("symbol", "base", "quote") if obj else ())

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # orders and trades refer to it forever; halt it instead

    @admin.action(description="Halt trading")
    def halt(self, request: HttpRequest, queryset: QuerySet[Market]) -> None:
        run_action(
            self, request, queryset, lambda m: services.market_set_status(m, MarketStatus.HALTED)
        )

    @admin.action(description="Resume trading")
    def resume(self, request: HttpRequest, queryset: QuerySet[Market]) -> None:
        run_action(
            self, request, queryset, lambda m: services.market_set_status(m, MarketStatus.TRADING)
        )


@admin.register(Order)
class OrderAdmin(ProjectionAdmin):
    list_display = (
        "id",
        "created_at",
        "user",
        "market",
        "side",
        "type",
        "price",
        "quantity",
        "filled_quantity",
        "status",
    )
    list_filter = ("status", "market", "side", "type", "time_in_force")
    list_select_related = ("user", "market")
    search_fields = ("user__username", "client_order_id")
    date_hierarchy = "created_at"


@admin.register(Trade)
class TradeAdmin(ProjectionAdmin):
    list_display = (
        "executed_at",
        "market",
        "trade_id",
        "price",
        "quantity",
        "quote_quantity",
        "taker_side",
        "maker_user",
        "taker_user",
    )
    list_filter = ("market", "taker_side")
    list_select_related = ("market", "maker_user", "taker_user")
    search_fields = ("maker_user__username", "taker_user__username")
    date_hierarchy = "executed_at"


@admin.register(EventCheckpoint)
class EventCheckpointAdmin(ProjectionAdmin):
    """How far each shard's persister got (written with each batch, in its transaction), and
    whether it halted on an event it cannot write (docs/reliability.md, "A poisoned event")."""

    list_display = ("stream", "last_seq", "last_cmd_id", "updated_at", "halted_at", "halt_reason")
    actions = ("retry_halted",)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        for row in EventCheckpoint.objects.filter(halted_at__isnull=False):
            self.message_user(
                request,
                f"Persistence of shard {row.stream} is HALTED at event seq {row.halted_seq}: "
                f"{row.halt_reason} Fix the cause, then retry it (action below, or "
                f"`python manage.py resume_persister --shard {row.stream}`).",
                messages.ERROR,
            )
        return super().changelist_view(request, extra_context)

    @admin.action(description="Retry the halted event (after fixing its cause)")
    def retry_halted(self, request: HttpRequest, queryset: QuerySet[EventCheckpoint]) -> None:
        run_action(self, request, queryset, services.persistence_retry)


@admin.register(OrderIdBlock)
class OrderIdBlockAdmin(ProjectionAdmin):
    """Blocks of order ids handed to web processes (trading/ids.py)."""

    list_display = ("id",)
