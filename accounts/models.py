"""Users, assets, and the money records.

Balance and LedgerEntry are projections of the matcher's state: only the persister writes them
(accounts/ledger.py, issue 4). Deposit and Withdrawal are requests with a status lifecycle
(accounts/transitions.py). Money is exact: DecimalField(38, 18) here, integer atoms in the engine.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

MONEY_DIGITS = 38
MONEY_PLACES = 18


def money_field(**kwargs: Any) -> Any:
    """An exact amount of an asset (or a price / size): 20 integer digits, 18 fractional."""
    return models.DecimalField(max_digits=MONEY_DIGITS, decimal_places=MONEY_PLACES, **kwargs)


def rate_field(**kwargs: Any) -> Any:
    """A fee rate as a fraction: 0.001 is 0.1 %."""
    return models.DecimalField(max_digits=10, decimal_places=6, **kwargs)


class User(AbstractUser):
    is_system = models.BooleanField(
        default=False,
        help_text="A venue account (the fee account), not a person; it can never log in.",
    )


class Asset(models.Model):
    code = models.CharField(
        max_length=16,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9]{2,16}$", "Upper-case letters and digits, 2-16.")],
    )
    name = models.CharField(max_length=64)
    decimals = models.PositiveSmallIntegerField(
        validators=[MaxValueValidator(18)],
        help_text="One atom is 10^-decimals of a unit; never change once markets use it.",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decimals__gte=0, decimals__lte=MONEY_PLACES),
                name="asset_decimals_0_18",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def atom(self) -> Decimal:
        return Decimal(1).scaleb(-self.decimals)


class Balance(models.Model):
    """Projection of the engine's balance for one user and asset (written by the persister)."""

    # balance_one_per_user_asset starts with user: no index of its own.
    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="balances", db_index=False
    )
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    available = money_field(default=Decimal(0))
    locked = money_field(default=Decimal(0))
    updated_at = models.DateTimeField(default=timezone.now)  # the event time, set by the writer
    last_event_seq = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "asset"], name="balance_one_per_user_asset"),
            models.CheckConstraint(condition=Q(available__gte=0), name="balance_available_gte_0"),
            models.CheckConstraint(condition=Q(locked__gte=0), name="balance_locked_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}/{self.asset_id}: {self.available} + {self.locked} locked"


class LedgerReason(models.TextChoices):
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRADE = "trade"
    FEE = "fee"
    HOLD = "hold"
    RELEASE = "release"


class LedgerEntry(models.Model):
    """One balance movement, append-only.

    ``cause`` names what moved the money, namespaced so ids of different kinds never collide
    (for example ``trade:SOL_USDC:42``, ``order:1234``, ``deposit:<transfer uuid>``). The unique
    constraint on (user, asset, reason, cause) makes a replayed event a no-op.
    """

    # ledger_unique_cause and ledger_user_time start with user: no index of its own (each
    # index is written on every one of the persister's inserts).
    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="ledger_entries", db_index=False
    )
    # No index of its own either: nothing reads the ledger by asset alone but the admin's
    # filter (a few assets, newest first, so it stops early) and the PROTECT check when an
    # asset is deleted, while the persister writes about six entries per order.
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+", db_index=False)
    reason = models.CharField(max_length=16, choices=LedgerReason.choices)
    cause = models.CharField(max_length=64)
    delta_available = money_field()
    delta_locked = money_field()
    available_after = money_field()
    locked_after = money_field()
    event_seq = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)  # the event time

    class Meta:
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "asset", "reason", "cause"], name="ledger_unique_cause"
            ),
            models.CheckConstraint(
                condition=Q(available_after__gte=0, locked_after__gte=0),
                name="ledger_after_gte_0",
            ),
        ]
        indexes = [models.Index(fields=["user", "created_at"], name="ledger_user_time")]

    def __str__(self) -> str:
        return f"{self.reason} {self.cause}: {self.delta_available:+} / {self.delta_locked:+}"


class DepositStatus(models.TextChoices):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CREDITED = "credited"
    REJECTED = "rejected"


class Deposit(models.Model):
    id = models.BigAutoField(primary_key=True)
    transfer_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="deposits")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    amount = money_field()
    status = models.CharField(
        max_length=16, choices=DepositStatus.choices, default=DepositStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    credited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="deposit_amount_gt_0"),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="deposit_user_time")]

    def __str__(self) -> str:
        return f"deposit {self.pk}: {self.amount} {self.asset_id} ({self.status})"


class WithdrawalStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    COMPLETED = "completed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    FAILED = "failed"


class Withdrawal(models.Model):
    id = models.BigAutoField(primary_key=True)
    transfer_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="withdrawals")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    amount = money_field()
    address = models.CharField(max_length=128)
    status = models.CharField(
        max_length=16, choices=WithdrawalStatus.choices, default=WithdrawalStatus.PENDING
    )
    reject_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="withdrawal_amount_gt_0"),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="withdrawal_user_time")]

    def __str__(self) -> str:
        return f"withdrawal {self.pk}: {self.amount} {self.asset_id} ({self.status})"


class ApiKey(models.Model):
    """A public key id and a random nonce; the secret is derived (accounts/keys.py), not stored."""

    PERMISSIONS = ("read", "trade", "withdraw")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    label = models.CharField(max_length=64, blank=True)
    key_id = models.CharField(max_length=64, unique=True, editable=False)
    secret_nonce = models.CharField(max_length=64, editable=False)
    perm_read = models.BooleanField(default=True)
    perm_trade = models.BooleanField(default=False)
    perm_withdraw = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        indexes = [models.Index(fields=["user", "-created_at"], name="apikey_user_time")]

    def __str__(self) -> str:
        return f"{self.key_id} ({self.label or 'no label'})"

    @property
    def permissions(self) -> list[str]:
        return [name for name in self.PERMISSIONS if getattr(self, f"perm_{name}")]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ShardBalance(models.Model):
    """One matcher shard's part of a balance (projection; only kept with several shards).

    ``Balance`` is the user's total; this row says where it sits, so a service can move the
    shortfall to the shard that needs it (accounts/shard_funds.py).
    """

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    shard = models.CharField(max_length=32)
    available = money_field(default=Decimal(0))
    locked = money_field(default=Decimal(0))
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "asset", "shard"], name="shard_balance_one_per_shard"
            ),
            models.CheckConstraint(
                condition=Q(available__gte=0, locked__gte=0), name="shard_balance_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}/{self.asset_id}@{self.shard}: {self.available} + {self.locked}"
