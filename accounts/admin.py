from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from accounts import audit, services, withdrawals
from accounts.models import (
    ApiKey,
    Asset,
    AuditAction,
    AuditLogEntry,
    Balance,
    Deposit,
    LedgerEntry,
    ReconciliationRun,
    User,
    Withdrawal,
)
from common.errors import DomainError


class ProjectionAdmin(admin.ModelAdmin):
    """Rows written only by the persister from the matcher's events: view, never edit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


M = TypeVar("M", bound=Model)


def run_action(
    modeladmin: admin.ModelAdmin[M],
    request: HttpRequest,
    queryset: QuerySet[M],
    step: Callable[[M], object],
) -> None:
    """Apply a service call to each selected row; report refusals instead of failing the batch."""
    done, refused = 0, []
    for obj in queryset:
        try:
            step(obj)
            done += 1
        except DomainError as exc:
            refused.append(f"{obj}: {exc.message}")
    if done:
        modeladmin.message_user(request, f"{done} updated.", messages.SUCCESS)
    for line in refused:
        modeladmin.message_user(request, line, messages.ERROR)


class BalanceInline(admin.TabularInline):
    model = Balance
    fields = ("asset", "available", "locked", "updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "is_staff", "is_system", "is_active", "date_joined")
    list_filter = ("is_system", "is_staff", "is_superuser", "is_active")
    fieldsets = (*(DjangoUserAdmin.fieldsets or ()), ("Exchange", {"fields": ("is_system",)}))
    readonly_fields = ("is_system", "last_login", "date_joined")

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> tuple[type[BalanceInline], ...]:
        return (BalanceInline,) if obj is not None else ()  # a new user has no balances

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The fee account receives every fee; conservation checks need it forever.
        if obj is not None and obj.is_system:
            return False
        return super().has_delete_permission(request, obj)


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "decimals",
        "is_active",
        "address_format",
        "withdrawal_min",
        "withdrawal_fee",
        "withdrawal_auto_approve_max",
        "withdrawal_daily_limit",
    )
    list_filter = ("is_active",)
    search_fields = ("code", "name")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Changing decimals would rescale every stored amount in the engine's atoms.
        return ("code", "decimals") if obj else ()


@admin.register(Balance)
class BalanceAdmin(ProjectionAdmin):
    list_display = ("user", "asset", "available", "locked", "updated_at", "last_event_seq")
    list_filter = ("asset",)
    list_select_related = ("user", "asset")
    search_fields = ("user__username",)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ProjectionAdmin):
    list_display = (
        "created_at",
        "user",
        "asset",
        "reason",
        "cause",
        "delta_available",
        "delta_locked",
        "available_after",
        "locked_after",
        "event_seq",
    )
    list_filter = ("reason", "asset")
    list_select_related = ("user", "asset")
    search_fields = ("user__username", "cause")
    date_hierarchy = "created_at"


class ReasonForm(forms.Form):
    """What an operator's action on money asks for: why (and for a payout found made, its
    transaction id). Recorded in the audit log."""

    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), strip=True
    )

    def __init__(self, *args: Any, txid: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if txid:
            self.fields["txid"] = forms.CharField(
                max_length=128, label="Transaction id of the payout", strip=True
            )


def money_action(
    modeladmin: admin.ModelAdmin[M],
    request: HttpRequest,
    queryset: QuerySet[M],
    *,
    title: str,
    step: Callable[..., object],
    txid: bool = False,
) -> TemplateResponse | None:
    """An admin action that first asks why (an intermediate page), then calls ``step(obj,
    actor=..., reason=..., [txid=...])`` for each selected row."""
    if "apply" in request.POST:
        form = ReasonForm(request.POST, txid=txid)
        if form.is_valid():
            actor = cast(User, request.user)
            data = form.cleaned_data
            run_action(modeladmin, request, queryset, lambda obj: step(obj, actor=actor, **data))
            return None
    else:
        form = ReasonForm(txid=txid)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "queryset": queryset,
        "form": form,
        "action": request.POST.get("action", ""),
        "opts": modeladmin.model._meta,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/accounts/money_action.html", context)


class DepositForm(forms.ModelForm):
    reason = forms.CharField(
        max_length=500,
        help_text="Where the funds came from (bank reference, transaction id): audit log.",
    )

    class Meta:
        model = Deposit
        fields = ("user", "asset", "amount")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("asset") and data.get("amount") is not None:
            try:
                services.validate_amount(data["asset"], data["amount"])
            except DomainError as exc:
                raise forms.ValidationError({"amount": exc.message}) from exc
        return data


@admin.register(Deposit)
class DepositAdmin(admin.ModelAdmin):
    form = DepositForm
    list_display = ("id", "user", "asset", "amount", "status", "created_at", "credited_at")
    list_filter = ("status", "asset")
    list_select_related = ("user", "asset")
    search_fields = ("user__username",)
    date_hierarchy = "created_at"
    raw_id_fields = ("user",)
    actions = ("confirm", "reject")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:  # an operator records a deposit: who, what, how much, why
            return ("user", "asset", "amount", "reason")
        return ("transfer_id", "user", "asset", "amount", "status", "created_at", "credited_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return () if obj is None else self.get_fields(request, obj)

    def save_model(self, request: HttpRequest, obj: Deposit, form: Any, change: bool) -> None:
        if not change:
            created = services.deposit_create(obj.user, obj.asset, obj.amount)
            audit.record(
                cast(User, request.user),
                AuditAction.DEPOSIT_CREATE,
                created,
                form.cleaned_data["reason"],
            )
            obj.pk = created.pk

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a deposit moves only through the actions below (audited)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_confirm_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.confirm_deposit")

    @admin.action(description="Confirm selected deposits (credit them)", permissions=["confirm"])
    def confirm(self, request: HttpRequest, queryset: QuerySet[Deposit]) -> Any:
        # Confirmed, the deposit is sent to the matcher, which credits it once.
        return money_action(
            self, request, queryset, title="Confirm deposits", step=services.deposit_confirm
        )

    @admin.action(description="Reject selected deposits", permissions=["confirm"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Deposit]) -> Any:
        return money_action(
            self, request, queryset, title="Reject deposits", step=services.deposit_reject
        )


@admin.register(Withdrawal)
class WithdrawalAdmin(admin.ModelAdmin):
    """Operators approve or reject what waits above the asset's threshold, and resolve
    payouts that timed out (docs/operations.md, "Withdrawals")."""

    list_display = (
        "id",
        "user",
        "asset",
        "amount",
        "fee",
        "address",
        "status",
        "created_at",
        "approved_by",
        "txid",
    )
    list_filter = ("status", "asset")
    list_select_related = ("user", "asset", "approved_by")
    search_fields = ("user__username", "address", "txid", "transfer_id")
    date_hierarchy = "created_at"
    readonly_fields = (
        "transfer_id",
        "user",
        "asset",
        "amount",
        "fee",
        "address",
        "status",
        "reject_reason",
        "created_at",
        "updated_at",
        "held_at",
        "approved_at",
        "approved_by",
        "payout_started_at",
        "payout_attempts",
        "txid",
        "completed_at",
        "settled_at",
        "released_at",
    )
    fields = readonly_fields
    actions = ("approve", "reject", "resolve_paid", "resolve_failed", "retry_payout")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # users request withdrawals through the API, which holds the funds

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a withdrawal moves only through the actions below (audited)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.approve_withdrawal")

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("accounts.resolve_withdrawal")

    @admin.action(description="Approve selected withdrawals (pay out)", permissions=["approve"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Withdrawal]) -> Any:
        return money_action(
            self, request, queryset, title="Approve withdrawals", step=withdrawals.approve
        )

    @admin.action(
        description="Reject selected withdrawals (release the funds)", permissions=["approve"]
    )
    def reject(self, request: HttpRequest, queryset: QuerySet[Withdrawal]) -> Any:
        return money_action(
            self, request, queryset, title="Reject withdrawals", step=withdrawals.reject
        )

    @admin.action(
        description="Timed out: the payout WAS made (complete, settle)", permissions=["resolve"]
    )
    def resolve_paid(self, request: HttpRequest, queryset: QuerySet[Withdrawal]) -> Any:
        return money_action(
            self,
            request,
            queryset,
            title="Resolve as paid",
            step=withdrawals.resolve_paid,
            txid=True,
        )

    @admin.action(
        description="Timed out: nothing was paid (fail, release the funds)",
        permissions=["resolve"],
    )
    def resolve_failed(self, request: HttpRequest, queryset: QuerySet[Withdrawal]) -> Any:
        return money_action(
            self, request, queryset, title="Resolve as failed", step=withdrawals.resolve_failed
        )

    @admin.action(description="Timed out: try the payout again", permissions=["resolve"])
    def retry_payout(self, request: HttpRequest, queryset: QuerySet[Withdrawal]) -> Any:
        return money_action(self, request, queryset, title="Retry payouts", step=withdrawals.retry)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records nobody edits from the admin, superusers included."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "action", "target_type", "target_id", "reason")
    list_filter = ("action", "target_type")
    list_select_related = ("actor",)
    search_fields = ("actor__username", "reason", "=target_id")
    date_hierarchy = "created_at"


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "status", "message")
    list_filter = ("status",)
    date_hierarchy = "started_at"
    readonly_fields = ("started_at", "finished_at", "status", "message", "details")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    # The nonce is never shown: with the server key it derives the secret.
    fields = (
        "user",
        "label",
        "key_id",
        "perm_read",
        "perm_trade",
        "perm_withdraw",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = ("user", "key_id", "created_at", "last_used_at", "revoked_at")
    list_display = ("key_id", "user", "label", "permission_list", "created_at", "revoked_at")
    list_filter = ("perm_trade", "perm_withdraw", ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("user",)
    search_fields = ("key_id", "label", "user__username")
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # users create keys through the API; the secret is shown to them once

    @admin.display(description="permissions")
    def permission_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.permissions)

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        run_action(self, request, queryset, services.api_key_revoke)
