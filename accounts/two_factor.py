"""Two-factor authentication: TOTP (RFC 6238, pyotp) with single-use recovery codes.

Optional per user. Once on (``TotpDevice.confirmed_at``), a code is required at web log-in, to
create an API key, and for every withdrawal (``require``).

- **Enabling** makes a secret (``begin_setup``), shown as a QR code; it protects the account
  only after a code from the app confirms it (``confirm_setup``), which also makes ten recovery
  codes, shown once.
- **Replay**: a code is accepted for its 30 s step and one step either side (clock drift), and
  only if its step is later than the last step accepted (``TotpDevice.last_step``, moved by a
  compare-and-set): a code, once used, is refused, also by a concurrent request.
- **Throttle**: wrong codes are counted per user for TOTP_FAILURE_WINDOW_S; past
  TOTP_FAILURES_PER_USER every attempt answers 429 until the window ends (a 6-digit code
  cannot be guessed in a few tries). The counters live in the cache (Redis); if it cannot be
  read, codes are refused (503) rather than unthrottled.
- **Recovery codes** stand in for the app at log-in and to turn 2FA off (lost phone); each
  works once. Only their HMAC is stored.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time

import pyotp
import segno
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.models import RecoveryCode, TotpDevice, User
from accounts.notifications import notify
from common.errors import Conflict, DomainError, Unavailable

log = logging.getLogger(__name__)

STEP_S = 30
DRIFT_STEPS = 1  # one step either side of the server's
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


class SecondFactorRequired(DomainError):
    status = 403
    code = "totp_required"
    default_message = "Two-factor authentication is on: enter the code from your app (totp)."


class InvalidSecondFactor(DomainError):
    status = 403
    code = "invalid_totp"
    default_message = "The code is wrong or expired."


class SecondFactorReused(DomainError):
    status = 403
    code = "totp_reused"
    default_message = "This code was already used; wait for the next one."


class TooManyAttempts(DomainError):
    status = 429
    code = "throttled"
    default_message = "Too many wrong codes. Try again later."


def device_of(user: User) -> TotpDevice | None:
    return TotpDevice.objects.filter(user=user).first()


def is_enabled(user: User) -> bool:
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def now_step() -> int:
    return int(time.time()) // STEP_S


# --- Setting up and turning off -------------------------------------------------------------------


def begin_setup(user: User) -> TotpDevice:
    """A fresh, unconfirmed secret for ``user`` (a previous unconfirmed one is replaced)."""
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is not None and device.confirmed_at is not None:
            raise Conflict("Two-factor authentication is already on.", code="totp_enabled")
        secret = pyotp.random_base32(length=32)
        if device is None:
            return TotpDevice.objects.create(user=user, secret=secret)
        device.secret, device.last_step = secret, 0
        device.save(update_fields=["secret", "last_step"])
        return device


def setup_uri(user: User, device: TotpDevice) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(device.secret).provisioning_uri(
        name=user.username, issuer_name=settings.TOTP_ISSUER
    )


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (dark modules on a light quiet zone, as scanners like)."""
    qr = segno.make(uri, error="m")
    svg: str = qr.svg_inline(scale=5, border=3, dark="#0b0e13", light="#ffffff", title="QR code")
    return svg


def confirm_setup(user: User, code: str) -> list[str]:
    """Turn 2FA on with a code from the app; returns the recovery codes (shown once)."""
    device = device_of(user)
    if device is None:
        raise Conflict("Start the set-up first.", code="totp_not_started")
    if device.confirmed_at is not None:
        raise Conflict("Two-factor authentication is already on.", code="totp_enabled")
    _check_not_blocked(user)
    step = _matching_step(device.secret, code)
    if step is None:
        _count_failure(user)
        raise InvalidSecondFactor()
    with transaction.atomic():
        moved = TotpDevice.objects.filter(pk=device.pk, confirmed_at__isnull=True).update(
            confirmed_at=timezone.now(), last_step=step
        )
        if not moved:
            raise Conflict("Two-factor authentication is already on.", code="totp_enabled")
        codes = _new_recovery_codes(user)
        notify(user.pk, "two_factor_enabled")
    return codes


def disable(user: User, code: str) -> None:
    """Turn 2FA off, with a code from the app or a recovery code."""
    if not is_enabled(user):
        raise Conflict("Two-factor authentication is off.", code="totp_disabled")
    with transaction.atomic():
        check(user, code, recovery=True)
        TotpDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        notify(user.pk, "two_factor_disabled")


def regenerate_recovery_codes(user: User, code: str) -> list[str]:
    """New recovery codes (the old ones stop working), with a code from the app."""
    if not is_enabled(user):
        raise Conflict("Two-factor authentication is off.", code="totp_disabled")
    check(user, code)
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        notify(user.pk, "recovery_codes_regenerated")
    return codes


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


# --- Checking a code ------------------------------------------------------------------------------


def require(user: User, code: str | None, *, recovery: bool = False) -> None:
    """Where 2FA guards an action: nothing to do when it is off, else ``check``."""
    if is_enabled(user):
        check(user, code, recovery=recovery)


def check(user: User, code: str | None, *, recovery: bool = False) -> None:
    """Accept ``code`` once (TOTP, or a recovery code when ``recovery``), or raise:
    403 ``totp_required`` (none given), 429 ``throttled``, 403 ``invalid_totp``, 403
    ``totp_reused``."""
    code = (code or "").strip()
    if not code:
        raise SecondFactorRequired()
    _check_not_blocked(user)
    device = TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).first()
    if device is None:
        raise Conflict("Two-factor authentication is off.", code="totp_disabled")
    digits = code.replace(" ", "")
    if digits.isdigit() and len(digits) == 6:
        step = _matching_step(device.secret, digits)
        if step is not None:
            # Compare-and-set: of two requests with the same code, one wins.
            if TotpDevice.objects.filter(pk=device.pk, last_step__lt=step).update(last_step=step):
                return
            _count_failure(user)
            raise SecondFactorReused()
    elif recovery and _use_recovery_code(user, code):
        log.info("user %s used a recovery code", user.pk)
        return
    _count_failure(user)
    raise InvalidSecondFactor()


def _matching_step(secret: str, code: str) -> int | None:
    """The time step whose code is ``code``, within the drift window; None if none is."""
    code = code.replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = now_step()
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # Every candidate is compared (no early exit): the time taken says nothing.
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


# --- Throttle -------------------------------------------------------------------------------------


def _failure_key(user: User) -> str:
    return f"totp-fail:u:{user.pk}"


def _check_not_blocked(user: User) -> None:
    try:
        failures = int(cache.get(_failure_key(user)) or 0)
    except Exception:
        log.warning("two-factor throttle unreadable: refusing codes", exc_info=True)
        raise Unavailable(
            "Codes cannot be checked right now; retry shortly.", retry_after=5
        ) from None
    if failures >= settings.TOTP_FAILURES_PER_USER:
        raise TooManyAttempts(retry_after=settings.TOTP_FAILURE_WINDOW_S)


def _count_failure(user: User) -> None:
    key = _failure_key(user)
    try:
        cache.add(key, 0, settings.TOTP_FAILURE_WINDOW_S)
        cache.incr(key)
    except Exception:
        log.warning("could not count a wrong two-factor code", exc_info=True)


# --- Recovery codes -------------------------------------------------------------------------------


def _normalize(code: str) -> str:
    return "".join(code.lower().split()).replace("-", "")


def _digest(code: str) -> str:
    return salted_hmac("accounts.recovery-code", _normalize(code)).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    RecoveryCode.objects.bulk_create(RecoveryCode(user=user, digest=_digest(c)) for c in codes)
    return codes


def _use_recovery_code(user: User, code: str) -> bool:
    if len(_normalize(code)) != 10:
        return False
    used = RecoveryCode.objects.filter(
        user=user, digest=_digest(code), used_at__isnull=True
    ).update(used_at=timezone.now())
    return used == 1
