"""Two-factor authentication: set-up, codes used once, the throttle, recovery codes, and a code
required exactly where promised (web log-in, API key creation by API and page, withdrawals by
API), nowhere else."""

from __future__ import annotations

import base64
from decimal import Decimal as D
from typing import Any

import pyotp
import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts import two_factor
from accounts.models import ApiKey, RecoveryCode, TotpDevice, User, Withdrawal
from tests.api import Api
from tests.factories import make_user

PASSWORD = "pw-alice-123!"  # tests/factories.make_user's


def code(user: User, step_offset: int = 0) -> str:
    device = TotpDevice.objects.get(user=user)
    return pyotp.TOTP(device.secret).generate_otp(two_factor.now_step() + step_offset)


def enable(user: User) -> list[str]:
    """Turn 2FA on for ``user``; the code it took is forgotten, so the test's next code is
    fresh whatever the clock (a 30 s step may end between two lines)."""
    two_factor.begin_setup(user)
    codes = two_factor.confirm_setup(user, code(user))
    TotpDevice.objects.filter(user=user).update(last_step=0)
    return codes


@pytest.fixture
def alice(db: None, api_env: None) -> User:
    return make_user("alice", email="alice@example.com")


# --- Set-up and codes -----------------------------------------------------------------------------


def test_setup_turns_on_only_when_a_code_confirms_it(alice):
    device = two_factor.begin_setup(alice)
    assert not two_factor.is_enabled(alice)
    uri = two_factor.setup_uri(alice, device)
    assert uri.startswith("otpauth://totp/") and "issuer=Exchange" in uri
    assert two_factor.qr_svg(uri).lstrip().startswith("<svg")
    with pytest.raises(two_factor.InvalidSecondFactor):
        two_factor.confirm_setup(alice, "000000" if code(alice) != "000000" else "111111")
    assert not two_factor.is_enabled(alice)
    codes = two_factor.confirm_setup(alice, code(alice))
    assert two_factor.is_enabled(alice)
    assert len(codes) == 10 and len(set(codes)) == 10
    # only digests are stored
    assert not RecoveryCode.objects.filter(digest__in=codes).exists()


def test_code_is_refused_when_used_twice(alice):
    enable(alice)
    current = code(alice)
    two_factor.check(alice, current)
    with pytest.raises(two_factor.SecondFactorReused):
        two_factor.check(alice, current)


def test_code_is_refused_when_older_than_the_last_one_used(alice):
    enable(alice)
    two_factor.check(alice, code(alice, +1))  # the app's clock a step ahead
    with pytest.raises(two_factor.SecondFactorReused):
        two_factor.check(alice, code(alice))


def test_code_is_refused_when_outside_the_drift_window(alice):
    enable(alice)
    with pytest.raises(two_factor.InvalidSecondFactor):
        two_factor.check(alice, code(alice, +3))


def test_wrong_codes_are_throttled_then_even_the_right_one_is_refused(alice, settings):
    enable(alice)
    settings.TOTP_FAILURES_PER_USER = 3
    wrong = "123456" if code(alice) != "123456" else "654321"
    for _ in range(3):
        with pytest.raises(two_factor.InvalidSecondFactor):
            two_factor.check(alice, wrong)
    with pytest.raises(two_factor.TooManyAttempts) as throttled:
        two_factor.check(alice, code(alice))
    assert throttled.value.status == 429 and throttled.value.retry_after


def test_recovery_code_works_once_where_recovery_is_allowed(alice):
    codes = enable(alice)
    with pytest.raises(two_factor.InvalidSecondFactor):
        two_factor.check(alice, codes[0])  # not where only the app's code is taken
    two_factor.check(alice, codes[0].upper(), recovery=True)
    with pytest.raises(two_factor.InvalidSecondFactor):
        two_factor.check(alice, codes[0], recovery=True)
    assert two_factor.recovery_codes_left(alice) == 9


def test_disable_needs_a_code_and_removes_everything(alice):
    codes = enable(alice)
    with pytest.raises(two_factor.SecondFactorRequired):
        two_factor.disable(alice, "")
    two_factor.disable(alice, codes[3])
    assert not two_factor.is_enabled(alice)
    assert not TotpDevice.objects.filter(user=alice).exists()
    assert not RecoveryCode.objects.filter(user=alice).exists()


def test_regenerated_recovery_codes_replace_the_old_ones(alice):
    old = enable(alice)
    new = two_factor.regenerate_recovery_codes(alice, code(alice))
    assert set(new).isdisjoint(old)
    with pytest.raises(two_factor.InvalidSecondFactor):
        two_factor.check(alice, old[0], recovery=True)
    two_factor.check(alice, new[0], recovery=True)


@pytest.mark.django_db(transaction=True)
def test_changes_are_emailed_after_the_commit(api_env):
    alice = make_user("alice", email="alice@example.com")
    codes = enable(alice)
    two_factor.disable(alice, codes[0])
    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        "Two-factor authentication turned on",
        "Two-factor authentication turned off",
    ]
    assert mail.outbox[0].to == ["alice@example.com"]


# --- Web log-in -----------------------------------------------------------------------------------


def login(client: Client, username: str = "alice", password: str = PASSWORD) -> Any:
    return client.post(reverse("login"), {"username": username, "password": password})


def test_login_asks_for_the_code_when_two_factor_is_on(alice, client):
    enable(alice)
    response = login(client)
    assert response.status_code == 302 and response["Location"] == reverse("login-verify")
    # not logged in yet: private pages still send to the log-in
    assert client.get(reverse("wallet")).status_code == 302
    assert "_auth_user_id" not in client.session
    page = client.get(reverse("login-verify"))
    assert "Two-factor code" in page.content.decode()
    wrong = client.post(reverse("login-verify"), {"code": "000000"})
    assert wrong.status_code == 200 and "wrong or expired" in wrong.content.decode()
    done = client.post(reverse("login-verify"), {"code": code(alice)})
    assert done.status_code == 302
    assert client.get(reverse("wallet")).status_code == 200


def test_login_refuses_a_replayed_code_when_logging_in_again(alice):
    enable(alice)
    first, second = Client(), Client()
    login(first)
    current = code(alice)
    assert first.post(reverse("login-verify"), {"code": current}).status_code == 302
    login(second)
    replay = second.post(reverse("login-verify"), {"code": current})
    assert replay.status_code == 200 and "already used" in replay.content.decode()
    assert "_auth_user_id" not in second.session


def test_login_accepts_a_recovery_code_when_the_phone_is_lost(alice, client):
    codes = enable(alice)
    login(client)
    assert client.post(reverse("login-verify"), {"code": codes[0]}).status_code == 302
    assert client.get(reverse("wallet")).status_code == 200


def test_login_needs_no_code_when_two_factor_is_off(alice, client):
    assert login(client).status_code == 302
    assert client.get(reverse("wallet")).status_code == 200


def test_code_page_sends_back_to_login_when_no_password_was_given(alice, client):
    response = client.get(reverse("login-verify"))
    assert response.status_code == 302 and response["Location"] == reverse("login")


def test_code_page_expires_when_the_code_comes_too_late(alice, client, settings):
    enable(alice)
    login(client)
    settings.TOTP_LOGIN_WINDOW_S = -1
    response = client.post(reverse("login-verify"), {"code": code(alice)})
    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


# --- API keys -------------------------------------------------------------------------------------


def basic(username: str = "alice", password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_api_key_creation_needs_the_code_when_two_factor_is_on(alice, client):
    enable(alice)
    url = "/api/v1/api-keys"
    missing = client.post(url, {"label": "bot"}, content_type="application/json", headers=basic())
    assert (missing.status_code, missing.json()["error"]["code"]) == (403, "totp_required")
    current = code(alice)
    ok = client.post(
        url, {"label": "bot", "totp": current}, content_type="application/json", headers=basic()
    )
    assert ok.status_code == 201, ok.content
    replay = client.post(
        url, {"label": "bot2", "totp": current}, content_type="application/json", headers=basic()
    )
    assert (replay.status_code, replay.json()["error"]["code"]) == (403, "totp_reused")
    assert ApiKey.objects.filter(user=alice).count() == 1


def test_api_key_creation_needs_no_code_when_two_factor_is_off(alice, client):
    resp = client.post(
        "/api/v1/api-keys", {"label": "bot"}, content_type="application/json", headers=basic()
    )
    assert resp.status_code == 201


def test_api_key_page_asks_for_the_code_when_two_factor_is_on(alice):
    enable(alice)
    client = Client()
    client.force_login(alice)
    page = client.get(reverse("api-keys")).content.decode()
    assert 'name="totp"' in page
    refused = client.post(reverse("api-keys"), {"label": "bot", "permissions": ["read"]})
    assert "enter the code" in refused.content.decode()
    assert not ApiKey.objects.filter(user=alice).exists()
    created = client.post(
        reverse("api-keys"), {"label": "bot", "permissions": ["read"], "totp": code(alice)}
    )
    assert "Copy the secret now" in created.content.decode()


# --- Withdrawals ----------------------------------------------------------------------------------


ADDRESS = "0x" + "cd" * 20


@pytest.mark.django_db(transaction=True)
def test_withdrawal_needs_a_fresh_code_when_two_factor_is_on(pipeline):
    alice = make_user("alice")
    api = Api.for_user(alice, "read", "trade", "withdraw").fund(USDC="5000")
    enable(alice)
    body = {"asset": "USDC", "amount": "1500", "address": ADDRESS}
    missing = api.post("/api/v1/user/withdraw", body)
    assert (missing.status_code, missing.json()["error"]["code"]) == (403, "totp_required")
    wrong = api.post("/api/v1/user/withdraw", {**body, "totp": "12345x"})
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (403, "invalid_totp")
    current = code(alice)
    assert api.post("/api/v1/user/withdraw", {**body, "totp": current}).status_code == 201
    replay = api.post("/api/v1/user/withdraw", {**body, "totp": current})
    assert (replay.status_code, replay.json()["error"]["code"]) == (403, "totp_reused")
    assert Withdrawal.objects.count() == 1
    assert api.balances()["USDC"] == (D(3499), D(1501))


@pytest.mark.django_db(transaction=True)
def test_withdrawal_refused_for_its_input_does_not_spend_the_code(pipeline):
    alice = make_user("alice")
    api = Api.for_user(alice, "read", "trade", "withdraw").fund(USDC="50")
    enable(alice)
    current = code(alice)
    bad = api.post(
        "/api/v1/user/withdraw",
        {"asset": "USDC", "amount": "20", "address": "nope", "totp": current},
    )
    assert bad.json()["error"]["code"] == "invalid_address"
    good = api.post(
        "/api/v1/user/withdraw",
        {"asset": "USDC", "amount": "20", "address": ADDRESS, "totp": current},
    )
    assert good.status_code == 201, good.content


@pytest.mark.django_db(transaction=True)
def test_two_factor_is_not_asked_for_orders_deposits_or_reads(pipeline):
    alice = make_user("alice")
    api = Api.for_user(alice, "read", "trade").fund(USDC="100")
    enable(alice)
    assert api.post("/api/v1/user/deposit", {"asset": "USDC", "amount": "1"}).status_code == 201
    order = api.place(side="buy", price="10", quantity="1")
    assert order.status_code == 201, order.content
    assert api.get("/api/v1/user/balances").status_code == 200


# --- The security page ----------------------------------------------------------------------------


def test_security_page_turns_two_factor_on_and_off(alice):
    client = Client()
    client.force_login(alice)
    url = reverse("security")
    assert "Set up two-factor authentication" in client.get(url).content.decode()
    setup = client.post(url, {"step": "start"}).content.decode()
    assert "<svg" in setup and 'id="totp-secret"' in setup
    wrong = client.post(url, {"step": "confirm", "code": "000000"})
    assert "wrong or expired" in wrong.content.decode() and not two_factor.is_enabled(alice)
    done = client.post(url, {"step": "confirm", "code": code(alice)})
    page = done.content.decode()
    assert two_factor.is_enabled(alice)
    assert "Save these recovery codes now" in page and page.count("<li><code>") == 10
    assert "no-store" in done["Cache-Control"]
    # shown once: the next visit lists how many are left, not the codes
    again = client.get(url).content.decode()
    assert "Save these recovery codes now" not in again and "10 recovery codes left" in again
    off = client.post(url, {"step": "disable", "code": code(alice, +1)})
    assert off.status_code == 302 and not two_factor.is_enabled(alice)
