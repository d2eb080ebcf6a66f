"""The account pages: sign up, log in (with its second step) and out, password, two-factor
authentication, API keys, and the wallet.

Writes go through the services the API uses (``user_create``, ``api_key_create``,
``api_key_revoke_by_id``, ``two_factor``); deposits, withdrawals and statements are made by the
wallet page's JavaScript through the REST API (static/js/wallet.js), as a bot would. Reads go
through the selectors, in the API's JSON shapes.
"""

from __future__ import annotations

import time
from decimal import Decimal, localcontext
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts import selectors, services, two_factor, withdrawals
from accounts.deposit_sources import deposit_source
from accounts.forms import ApiKeyForm, CodeForm, LoginForm, SignupForm
from accounts.models import MONEY_DIGITS, ApiKey, Asset, Balance, User
from accounts.serializers import (
    api_key_out,
    asset_out,
    balance_out,
    deposit_out,
    fixed,
    withdrawal_out,
)
from accounts.throttling import SignupThrottle
from common.amounts import plain
from common.errors import Conflict, DomainError, ValidationFailed

HISTORY_ROWS = 20  # deposits and withdrawals shown at first; the page loads more on demand


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # behind login_required


def _next_url(request: HttpRequest, default: str) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return default


# --- Sign up, log in, log out, password -------------------------------------------------------


def signup_page(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # The API's sign-up limit, on the same counters: one budget per address for both.
        throttle = SignupThrottle()
        if not throttle.allow_request(cast(Any, request), cast(Any, None)):
            minutes = max(1, round((throttle.wait() or 60) / 60))
            form.add_error(
                None, f"Too many sign-ups from this address. Try again in {minutes} min."
            )
        else:
            data = form.cleaned_data
            try:
                user = services.user_create(
                    data["username"], password=data["password"], email=data["email"]
                )
            except Conflict as exc:
                form.add_error("username", exc.message)
            except ValidationFailed as exc:
                reasons = (exc.details or {}).get("password") or [exc.message]
                for reason in reasons:
                    form.add_error("password", reason)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, f"Welcome, {user.username}. Deposit funds to trade.")
                return redirect(_next_url(request, reverse("wallet")))
    return render(request, "accounts/signup.html", {"form": form, "next": _next_url(request, "")})


LOGIN_PENDING = "login_2fa_pending"  # session key: a log-in whose password was right


class LoginPage(auth_views.LoginView):
    """The password first; with two-factor authentication on, the code next (``login_verify``)
    before the session is the user's."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        user = form.get_user()
        if not two_factor.is_enabled(user):
            return super().form_valid(form)
        self.request.session[LOGIN_PENDING] = {
            "user": user.pk,
            "backend": getattr(user, "backend", "django.contrib.auth.backends.ModelBackend"),
            "at": time.time(),
            "next": self.get_success_url(),
        }
        return redirect("login-verify")


@never_cache
@sensitive_post_parameters("code")
def login_verify_page(request: HttpRequest) -> HttpResponse:
    """The log-in's second step: a code from the app, or a recovery code."""
    pending = request.session.get(LOGIN_PENDING)
    if not pending or time.time() - float(pending.get("at", 0)) > settings.TOTP_LOGIN_WINDOW_S:
        request.session.pop(LOGIN_PENDING, None)
        if pending:
            messages.error(request, "That took too long: log in again.")
        return redirect("login")
    user = User.objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        request.session.pop(LOGIN_PENDING, None)
        return redirect("login")
    form = CodeForm(request.POST or None, recovery=True)
    if request.method == "POST" and form.is_valid():
        try:
            two_factor.check(user, form.cleaned_data["code"], recovery=True)
        except DomainError as exc:
            form.add_error("code", exc.message)
        else:
            request.session.pop(LOGIN_PENDING, None)
            login(request, user, backend=pending["backend"])  # a new session key
            left = two_factor.recovery_codes_left(user)
            if left <= 3:
                messages.warning(
                    request,
                    f"{left} recovery code{'s' if left != 1 else ''} left: make new ones on "
                    "the Security page.",
                )
            return redirect(_safe(request, pending.get("next") or reverse("home")))
    return render(request, "accounts/login_verify.html", {"form": form, "username": user.username})


def _safe(request: HttpRequest, url: str) -> str:
    if url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse("home")


class LogoutPage(auth_views.LogoutView):
    """POST only (Django's rule): a link or an image cannot log a trader out."""


class PasswordChangePage(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("password-change")

    def form_valid(self, form: Any) -> HttpResponse:
        messages.success(self.request, "Your password was changed.")
        return super().form_valid(form)


# --- API keys ---------------------------------------------------------------------------------


@login_required
def api_keys_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    protected = two_factor.is_enabled(user)
    form = ApiKeyForm(request.POST or None, two_factor=protected)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            api_key, secret = services.api_key_create(
                user,
                form.cleaned_data["label"],
                form.cleaned_data["permissions"],
                totp=form.cleaned_data.get("totp"),
            )
        except DomainError as exc:
            form.add_error("totp" if "totp" in form.fields else None, exc.message)
        else:
            # Rendered, not redirected: the secret is never stored, so this page is the only
            # place it is ever shown.
            created = {**api_key_out(api_key), "api_secret": secret}
            form = ApiKeyForm(two_factor=protected)
    keys = [api_key_out(k) for k in selectors.api_key_list(user)]
    response = render(
        request,
        "accounts/api_keys.html",
        {
            "form": form,
            "keys": keys,
            "created": created,
            "permissions": ApiKey.PERMISSIONS,
            "two_factor": protected,
        },
    )
    if created:
        response["Cache-Control"] = "no-store"  # the secret must not stay in a cache
    return response


@login_required
@require_POST
def api_key_revoke_page(request: HttpRequest, api_key: str) -> HttpResponse:
    try:
        revoked = services.api_key_revoke_by_id(_user(request), api_key)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"API key {revoked.label or revoked.key_id[:8]} was revoked.")
    return redirect("api-keys")


# --- Two-factor authentication ------------------------------------------------------------------


@login_required
@never_cache
@sensitive_post_parameters("code")
def security_page(request: HttpRequest) -> HttpResponse:
    """Turn two-factor authentication on (QR code, then a code; recovery codes shown once) or
    off (a code), or make new recovery codes. Every step posts ``step`` and maybe ``code``."""
    user = _user(request)
    step = request.POST.get("step", "") if request.method == "POST" else ""
    form = CodeForm(request.POST or None, recovery=step == "disable")
    context: dict[str, Any] = {"form": form, "step": step, "codes": None, "setup": None}
    device = two_factor.device_of(user)
    try:
        if step == "start":
            device = two_factor.begin_setup(user)
            form = CodeForm()
            context["form"] = form
        elif step in ("confirm", "disable", "regenerate") and form.is_valid():
            code = form.cleaned_data["code"]
            if step == "confirm":
                context["codes"] = two_factor.confirm_setup(user, code)
                messages.success(request, "Two-factor authentication is on.")
            elif step == "regenerate":
                context["codes"] = two_factor.regenerate_recovery_codes(user, code)
                messages.success(request, "New recovery codes: the old ones no longer work.")
            else:
                two_factor.disable(user, code)
                messages.success(request, "Two-factor authentication is off.")
                return redirect("security")
    except DomainError as exc:
        form.add_error("code" if "code" in form.fields else None, exc.message)
    device = two_factor.device_of(user)
    enabled = device is not None and device.confirmed_at is not None
    if device is not None and not enabled and step in ("start", "confirm"):
        uri = two_factor.setup_uri(user, device)
        context["setup"] = {"qr": two_factor.qr_svg(uri), "secret": device.secret, "uri": uri}
    context.update(
        {
            "enabled": enabled,
            "enabled_at": device.confirmed_at if enabled and device else None,
            "codes_left": two_factor.recovery_codes_left(user) if enabled else 0,
            "failures_limit": settings.TOTP_FAILURES_PER_USER,
        }
    )
    return render(request, "accounts/security.html", context)  # never cached: secrets


# --- Wallet -------------------------------------------------------------------------------------


@login_required
def wallet_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    assets = list(selectors.asset_list())
    data: dict[str, Any] = {
        "assets": [
            {
                "code": a.code,
                "name": a.name,
                **asset_out(a),
                "withdrawal_used_24h": plain(withdrawals.used_in_24h(user, a)),
            }
            for a in assets
        ],
        "two_factor": two_factor.is_enabled(user),
        "deposit_hint": deposit_source().hint,
        "balances": None,
        "rows": None,
        "deposits": None,
        "withdrawals": None,
    }
    try:
        balances = {b.asset.code: b for b in selectors.balances_of(user)}
        data["balances"] = [balance_out(b) for b in balances.values()]
        data["rows"] = [_balance_row(a, balances.get(a.code)) for a in assets]
        data["deposits"] = [
            deposit_out(d)
            for d in selectors.deposit_history(user).order_by("-created_at", "-id")[:HISTORY_ROWS]
        ]
        data["withdrawals"] = [
            withdrawal_out(w)
            for w in selectors.withdrawal_history(user).order_by("-created_at", "-id")[
                :HISTORY_ROWS
            ]
        ]
    except DomainError:
        pass  # writes not persisted yet: the page's JavaScript reads them (and retries)
    return render(request, "accounts/wallet.html", {"d": data, "page_data": data})


def _balance_row(asset: Asset, balance: Balance | None) -> dict[str, str]:
    available = balance.available if balance else Decimal(0)
    locked = balance.locked if balance else Decimal(0)
    return {
        "asset": asset.code,
        "name": asset.name,
        "available": fixed(available, asset.decimals),
        "locked": fixed(locked, asset.decimals),
        "total": fixed(_exact_sum(available, locked), asset.decimals),
    }


def _exact_sum(a: Decimal, b: Decimal) -> Decimal:
    with localcontext() as ctx:  # 38 digits each: the default 28 could round
        ctx.prec = 2 * MONEY_DIGITS
        return a + b
