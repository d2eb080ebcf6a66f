"""The account pages: sign up, log in and out, password, API keys, and the wallet.

Writes go through the services the API uses (``user_create``, ``api_key_create``,
``api_key_revoke_by_id``); deposits and withdrawals are made by the wallet page's JavaScript
through the REST API (static/js/wallet.js), as a bot would. Reads go through the selectors, in
the API's JSON shapes.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts import selectors, services
from accounts.forms import ApiKeyForm, LoginForm, SignupForm
from accounts.models import MONEY_DIGITS, ApiKey, Asset, Balance, User
from accounts.serializers import (
    api_key_out,
    balance_out,
    deposit_out,
    fixed,
    withdrawal_out,
)
from exchange_site.errors import Conflict, DomainError, ValidationFailed
from exchange_site.throttling import SignupThrottle

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


class LoginPage(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


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
    form = ApiKeyForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            api_key, secret = services.api_key_create(
                user, form.cleaned_data["label"], form.cleaned_data["permissions"]
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            # Rendered, not redirected: the secret is never stored, so this page is the only
            # place it is ever shown.
            created = {**api_key_out(api_key), "api_secret": secret}
            form = ApiKeyForm()
    keys = [api_key_out(k) for k in selectors.api_key_list(user)]
    response = render(
        request,
        "accounts/api_keys.html",
        {"form": form, "keys": keys, "created": created, "permissions": ApiKey.PERMISSIONS},
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


# --- Wallet -------------------------------------------------------------------------------------


@login_required
def wallet_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    assets = list(selectors.asset_list())
    data: dict[str, Any] = {
        "assets": [{"code": a.code, "name": a.name, "decimals": a.decimals} for a in assets],
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
