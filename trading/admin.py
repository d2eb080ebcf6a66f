from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from accounts.admin import ProjectionAdmin, run_action
from common.errors import DomainError
from trading import services
from trading.models import (
    EventCheckpoint,
    Market,
    MarketStatus,
    Order,
    OrderIdBlock,
    OrderList,
    Trade,
)


class MarketForm(forms.ModelForm):
    """The market add and change form. A valid form is sent to the market's matcher as part of
    its validation (trading.services.market_add / market_change), so a refusal, the engine's
    included, shows as the form's error and nothing is saved; the row itself is written by the
    persister once the matcher has applied the change."""

    class Meta:
        model = Market
        fields = (
            "symbol",
            "base",
            "quote",
            "tick_size",
            "lot_size",
            "min_notional",
            "maker_fee_rate",
            "taker_fee_rate",
        )

    outcome: Market | services.MarketChanged | None = None

    def full_clean(self) -> None:
        super().full_clean()
        if not self.is_bound or self.errors:
            return
        data = self.cleaned_data
        sizes = {
            name: data[name]
            for name in (
                "tick_size",
                "lot_size",
                "min_notional",
                "maker_fee_rate",
                "taker_fee_rate",
            )
        }
        try:
            if self.instance.pk is None:
                self.outcome = services.market_add(
                    data["symbol"], base=data["base"], quote=data["quote"], **sizes
                )
            else:
                self.outcome = services.market_change(self.instance, **sizes)
        except DomainError as exc:
            self.add_error(None, exc.message)


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin):
    form = MarketForm
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
        # Status moves only through the halt/resume actions; the assets of an existing market
        # never change.
        return ("status", "created_at") + (("symbol", "base", "quote") if obj else ())

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # orders and trades refer to it forever; halt it instead

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        # Without the transaction Django opens around a saved form: saving waits for the
        # persister to write the row in its own transaction, which one held open here would
        # block (SQLite's BEGIN IMMEDIATE takes the write lock at once). Nothing is written
        # here but the admin's log entry. (_changeform_view is what Django's own wraps.)
        view = self._changeform_view  # type: ignore[attr-defined]
        response: HttpResponse = view(request, object_id, form_url, extra_context)
        return response

    def save_model(self, request: HttpRequest, obj: Market, form: Any, change: bool) -> None:
        outcome = form.outcome  # what MarketForm.full_clean had the matcher do
        if isinstance(outcome, services.MarketChanged):
            self.message_user(request, outcome.describe(), messages.SUCCESS)
            return
        if not isinstance(outcome, Market):
            raise TypeError("a market form saved without its matcher's answer")
        obj.pk, obj.status, obj.created_at = outcome.pk, outcome.status, outcome.created_at
        self.message_user(
            request,
            f"{outcome.symbol} is listed: its matcher has it, and it trades from the next order.",
            messages.SUCCESS,
        )

    @admin.action(description="Halt trading")
    def halt(self, request: HttpRequest, queryset: QuerySet[Market]) -> None:
        self._set_status(request, queryset, MarketStatus.HALTED)

    @admin.action(description="Resume trading")
    def resume(self, request: HttpRequest, queryset: QuerySet[Market]) -> None:
        self._set_status(request, queryset, MarketStatus.TRADING)

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Market], status: str) -> None:
        for market in queryset:
            try:
                services.market_set_status(market, status)
            except DomainError as exc:
                self.message_user(request, f"{market}: {exc.message}", messages.ERROR)
                continue
            done = (
                "halted: its matcher refuses new orders from the next one on (cancels still work)"
                if status == MarketStatus.HALTED
                else "trading again: its matcher accepts orders from the next one on"
            )
            self.message_user(request, f"{market} {done}.", messages.SUCCESS)


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
        "stop_price",
        "filled_quantity",
        "status",
        "list",
    )
    list_filter = ("status", "market", "side", "type", "time_in_force")
    list_select_related = ("user", "market")
    search_fields = ("user__username", "client_order_id")
    date_hierarchy = "created_at"


@admin.register(OrderList)
class OrderListAdmin(ProjectionAdmin):
    """OCO order lists, written by the persister like orders (their legs: Orders, ``list``)."""

    list_display = (
        "id",
        "created_at",
        "user",
        "market",
        "contingency_type",
        "client_list_id",
        "status",
        "reject_reason",
    )
    list_filter = ("status", "market")
    list_select_related = ("user", "market")
    search_fields = ("user__username", "client_list_id")
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
