"""Users, assets, and the money records.

Balance and LedgerEntry are projections of the matcher's state: only the persister writes them
(accounts/ledger.py, issue 4). Deposit and Withdrawal are requests with a status lifecycle
(accounts/transitions.py). Money is exact: DecimalField(38, 18) here, integer atoms in the engine.

Also here: the second factor (TotpDevice, RecoveryCode), the operators' audit log, statements
and reconciliation runs (issue 17).
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


class AddressFormat(models.TextChoices):
    """How a withdrawal address of an asset is checked (accounts/addresses.py)."""

    ANY = "any", "Any printable text (no check)"
    EVM = "evm", "EVM: 0x and 40 hex digits"
    BITCOIN = "bitcoin", "Bitcoin: bech32/bech32m or base58check"
    SOLANA = "solana", "Solana: base58 of 32 bytes"


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
    # Withdrawal policy (accounts/withdrawals.py), set by operators in the admin.
    address_format = models.CharField(
        max_length=16, choices=AddressFormat.choices, default=AddressFormat.ANY
    )
    withdrawal_min = money_field(
        default=Decimal(0), help_text="Smallest amount a withdrawal may have (fee not counted)."
    )
    withdrawal_fee = money_field(
        default=Decimal(0), help_text="Charged on top of the amount, to the fee account."
    )
    withdrawal_auto_approve_max = money_field(
        default=Decimal(0),
        help_text="Withdrawals up to this amount are approved at once; larger ones wait for "
        "an operator. 0: every withdrawal waits.",
    )
    withdrawal_daily_limit = money_field(
        null=True,
        blank=True,
        help_text="Most a user may withdraw in any 24 hours (fees not counted); empty: no limit.",
    )

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(decimals__gte=0, decimals__lte=MONEY_PLACES),
                name="asset_decimals_0_18",
            ),
            models.CheckConstraint(
                condition=Q(
                    withdrawal_min__gte=0,
                    withdrawal_fee__gte=0,
                    withdrawal_auto_approve_max__gte=0,
                ),
                name="asset_withdrawal_policy_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(withdrawal_daily_limit__isnull=True) | Q(withdrawal_daily_limit__gte=0),
                name="asset_withdrawal_daily_limit_gte_0",
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
        permissions = [("confirm_deposit", "Can confirm or reject deposits")]

    def __str__(self) -> str:
        return f"deposit {self.pk}: {self.amount} {self.asset_id} ({self.status})"


class WithdrawalStatus(models.TextChoices):
    """The withdrawal lifecycle; the allowed moves are accounts/transitions.py's table."""

    PENDING = "pending"  # funds held (or the hold in flight); waits for approval
    APPROVED = "approved"  # automatically or by an operator; the payout task is queued
    PROCESSING = "processing"  # handed to the payout backend
    COMPLETED = "completed"  # paid out: the hold is settled, the fee charged
    TIMED_OUT = "timed_out"  # the backend did not answer in time: an operator resolves it
    REJECTED = "rejected"  # by an operator, with a reason: the hold is released
    CANCELLED = "cancelled"  # by the user before approval: the hold is released
    FAILED = "failed"  # the engine refused the hold, or the payout failed (released)


class Withdrawal(models.Model):
    id = models.BigAutoField(primary_key=True)
    transfer_id = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="withdrawals")
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="+")
    amount = money_field()
    fee = money_field(default=Decimal(0))
    address = models.CharField(max_length=128)
    status = models.CharField(
        max_length=16, choices=WithdrawalStatus.choices, default=WithdrawalStatus.PENDING
    )
    reject_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    # None with approved_at set: approved automatically (below the asset's threshold).
    approved_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payout_started_at = models.DateTimeField(null=True, blank=True)
    payout_attempts = models.PositiveIntegerField(default=0)
    txid = models.CharField(
        max_length=128, blank=True, help_text="The payout's transaction id (from the backend)."
    )
    # Set by the persister from the engine's events: when the hold took effect, and when it
    # was settled or released. The sweep re-sends what a lost command left undone.
    held_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="withdrawal_amount_gt_0"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="withdrawal_fee_gte_0"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="withdrawal_user_time"),
            models.Index(fields=["status", "updated_at"], name="withdrawal_status_time"),
        ]
        permissions = [
            ("approve_withdrawal", "Can approve or reject withdrawals"),
            ("resolve_withdrawal", "Can resolve timed-out withdrawals"),
        ]

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


# --- Two-factor authentication (accounts/two_factor.py) -------------------------------------------


class TotpDevice(models.Model):
    """A user's authenticator app (RFC 6238 TOTP, 30 s steps, 6 digits).

    Created unconfirmed when the user starts enabling 2FA; it protects the account only once
    ``confirmed_at`` is set (the user proved the app has the secret). ``last_step`` is the time
    step of the last code accepted: a code of that step or an earlier one is refused, so a code
    cannot be used twice.
    """

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="totp_device")
    secret = models.CharField(max_length=64)  # base32; shown once as a QR code
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "TOTP device"

    def __str__(self) -> str:
        return f"TOTP of {self.user_id} ({'on' if self.confirmed_at else 'not confirmed'})"


class RecoveryCode(models.Model):
    """A single-use code that stands in for the app (lost phone). Only its HMAC is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "digest"], name="recovery_code_unique"),
        ]

    def __str__(self) -> str:
        return f"recovery code of {self.user_id} ({'used' if self.used_at else 'unused'})"


# --- Operators: the audit log ---------------------------------------------------------------------


class AuditAction(models.TextChoices):
    DEPOSIT_CREATE = "deposit_create", "Deposit recorded"
    DEPOSIT_CONFIRM = "deposit_confirm", "Deposit confirmed"
    DEPOSIT_REJECT = "deposit_reject", "Deposit rejected"
    WITHDRAWAL_APPROVE = "withdrawal_approve", "Withdrawal approved"
    WITHDRAWAL_REJECT = "withdrawal_reject", "Withdrawal rejected"
    WITHDRAWAL_MARK_PAID = "withdrawal_mark_paid", "Withdrawal resolved as paid"
    WITHDRAWAL_MARK_FAILED = "withdrawal_mark_failed", "Withdrawal resolved as failed"
    WITHDRAWAL_RETRY = "withdrawal_retry", "Withdrawal payout retried"


class AuditLogEntry(models.Model):
    """Who did what to whose money, when and why. Written by the services an operator's admin
    action calls, in the same transaction as the change; never edited (the admin shows it
    read-only to everyone, superusers included)."""

    actor = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    target_type = models.CharField(max_length=16)  # "deposit" | "withdrawal"
    target_id = models.BigIntegerField()
    reason = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.target_type} {self.target_id}"
        )


# --- Statements -----------------------------------------------------------------------------------


class StatementStatus(models.TextChoices):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class Statement(models.Model):
    """A CSV of a user's ledger and trades for a period, built by a Celery task
    (accounts/statements.py) and downloaded through the API or the wallet page."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="statements")
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=StatementStatus.choices, default=StatementStatus.PENDING
    )
    content = models.TextField(blank=True)
    rows = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="statement_user_time")]

    def __str__(self) -> str:
        return f"statement {self.pk} of {self.user_id}: {self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}"


# --- Reconciliation -------------------------------------------------------------------------------


class ReconciliationStatus(models.TextChoices):
    OK = "ok"  # every source agrees for every asset
    MISMATCH = "mismatch"  # a difference: an alert
    SKIPPED = "skipped"  # transfers kept moving the totals: no consistent cut this time
    ERROR = "error"  # a source could not be read (matcher down, ...)


class ReconciliationRun(models.Model):
    """One comparison of the engine, the database balances, the ledger and the transfers, per
    asset (accounts/reconciliation.py). ``details``: asset -> the four totals and the
    differences."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=ReconciliationStatus.choices)
    details = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["-started_at"], name="reconciliation_time")]

    def __str__(self) -> str:
        return f"reconciliation {self.started_at:%Y-%m-%d %H:%M:%S}: {self.status}"
