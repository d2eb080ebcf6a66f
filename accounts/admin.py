from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from accounts import services
from accounts.models import (
    ApiKey,
    Asset,
    Balance,
    Deposit,
    DepositStatus,
    LedgerEntry,
    User,
    Withdrawal,
    WithdrawalStatus,
)
from exchange_site.errors import DomainError


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
    list_display = ("code", "name", "decimals", "is_active")
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


class DepositForm(forms.ModelForm):
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
        if obj is None:  # an operator records a deposit: who, what, how much
            return ("user", "asset", "amount")
        return ("transfer_id", "user", "asset", "amount", "status", "created_at", "credited_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return () if obj is None else self.get_fields(request, obj)

    def save_model(self, request: HttpRequest, obj: Deposit, form: Any, change: bool) -> None:
        if not change:
            created = services.deposit_create(obj.user, obj.asset, obj.amount)
            obj.pk = created.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Confirm selected deposits")
    def confirm(self, request: HttpRequest, queryset: QuerySet[Deposit]) -> None:
        run_action(
            self,
            request,
            queryset,
            services.deposit_confirm,  # and sends it to the matcher, which credits it
        )

    @admin.action(description="Reject selected deposits")
    def reject(self, request: HttpRequest, queryset: QuerySet[Deposit]) -> None:
        run_action(
            self,
            request,
            queryset,
            lambda d: services.deposit_set_status(d, DepositStatus.REJECTED),
        )


@admin.register(Withdrawal)
class WithdrawalAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "asset", "amount", "address", "status", "created_at")
    list_filter = ("status", "asset")
    list_select_related = ("user", "asset")
    search_fields = ("user__username", "address")
    date_hierarchy = "created_at"
    readonly_fields = (
        "transfer_id",
        "user",
        "asset",
        "amount",
        "address",
        "status",
        "reject_reason",
        "created_at",
        "completed_at",
    )
    fields = readonly_fields
    actions = ("approve", "complete", "reject")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # users request withdrawals through the API, which holds the funds

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Approve selected withdrawals")
    def approve(self, request: HttpRequest, queryset: QuerySet[Withdrawal]) -> None:
        run_action(
            self,
            request,
            queryset,
            lambda w: services.withdrawal_set_status(w, WithdrawalStatus.APPROVED),
        )

    @admin.action(description="Complete (pay out) selected approved withdrawals")
    def complete(self, request: HttpRequest, queryset: QuerySet[Withdrawal]) -> None:
        # The engine settles the hold; the persister then marks the row completed.
        run_action(self, request, queryset, services.withdrawal_complete)

    @admin.action(description="Reject selected withdrawals (release the funds)")
    def reject(self, request: HttpRequest, queryset: QuerySet[Withdrawal]) -> None:
        run_action(
            self,
            request,
            queryset,
            lambda w: services.withdrawal_reject(w, reason="rejected by an operator"),
        )


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
