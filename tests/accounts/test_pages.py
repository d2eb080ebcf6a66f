"""The account pages: sign up, log in and out, password, API keys, wallet."""

import pytest
from django.contrib.auth import get_user_model

from accounts.models import ApiKey
from tests.factories import make_api_key, make_balance, make_deposit, make_user, make_withdrawal

pytestmark = pytest.mark.django_db

SIGNUP = {
    "username": "dora",
    "email": "dora@example.com",
    "password": "a-long-pass-phrase-9",
    "password_again": "a-long-pass-phrase-9",
}


def test_signup_creates_the_account_logs_in_and_goes_to_the_wallet(client, assets, api_env):
    resp = client.post("/signup", SIGNUP)
    assert (resp.status_code, resp["Location"]) == (302, "/wallet")
    assert client.get("/wallet").status_code == 200  # logged in
    assert get_user_model().objects.filter(username="dora").exists()


def test_signup_returns_to_the_page_it_came_from_but_never_off_site(client, db, api_env):
    resp = client.post("/signup?next=/trade/SOL_USDC", SIGNUP)
    assert resp["Location"] == "/trade/SOL_USDC"
    client.logout()
    resp = client.post("/signup", {**SIGNUP, "username": "eve", "next": "https://evil.example/"})
    assert resp["Location"] == "/wallet"


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"password": "123", "password_again": "123"}, "password", "too short"),
        ({"password_again": "something-else-1"}, "password_again", "differ"),
        ({"username": "ALICE"}, "username", "taken"),
        ({"username": "no spaces"}, "username", "Enter a valid username"),
    ],
)
def test_signup_shows_what_is_wrong(client, db, api_env, change, field, text):
    make_user("alice")
    resp = client.post("/signup", {**SIGNUP, **change})
    assert resp.status_code == 200
    assert text in " ".join(resp.context["form"].errors[field])


def test_signup_shares_the_apis_limit_per_address(client, db, api_env, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "signup": "1/hour",
        },
    }
    assert client.post("/signup", SIGNUP).status_code == 302
    client.logout()
    resp = client.post("/signup", {**SIGNUP, "username": "eve"})
    assert "Too many sign-ups" in resp.content.decode()
    assert not get_user_model().objects.filter(username="eve").exists()


def test_login_logs_in_and_a_wrong_password_is_refused(client, db, api_env):
    make_user("alice")
    resp = client.post("/login", {"username": "alice", "password": "wrong"})
    assert "correct username and password" in resp.content.decode()
    resp = client.post("/login", {"username": "alice", "password": "pw-alice-123!"})
    assert resp.status_code == 302
    assert client.get("/wallet").status_code == 200


def test_login_is_refused_past_the_failure_limit_even_with_the_right_password(
    client, db, api_env, settings
):
    settings.LOGIN_FAILURES_PER_USER = 2
    make_user("alice")
    for _ in range(2):
        client.post("/login", {"username": "alice", "password": "wrong"})
    resp = client.post("/login", {"username": "alice", "password": "pw-alice-123!"})
    assert "Too many failed log-ins" in resp.content.decode()
    assert client.get("/wallet").status_code == 302  # still anonymous


def test_the_fee_account_cannot_log_in(client, db, api_env):
    fees = get_user_model().objects.get(is_system=True)
    fees.set_password("guessable-1")
    fees.save()
    resp = client.post("/login", {"username": fees.username, "password": "guessable-1"})
    assert "cannot log in" in resp.content.decode()


def test_logout_needs_a_post(client, db, api_env):
    client.force_login(make_user("alice"))
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/wallet").status_code == 302


@pytest.mark.parametrize("path", ["/wallet", "/orders", "/account/api-keys", "/account/password"])
def test_private_pages_send_visitors_to_the_login_page(client, db, path):
    resp = client.get(path)
    assert (resp.status_code, resp["Location"]) == (302, f"/login?next={path}")


def test_wallet_shows_every_asset_and_the_users_own_transfers_only(client, assets, api_env):
    alice, bob = make_user("alice"), make_user("bob")
    make_balance(alice, assets["USDC"], available="12.5", locked="7.5")
    make_deposit(alice, assets["USDC"], "20")
    make_withdrawal(bob, assets["SOL"], "3")
    client.force_login(alice)
    resp = client.get("/wallet")
    rows = {r["asset"]: r for r in resp.context["d"]["rows"]}
    assert set(rows) == {"BTC", "ETH", "SOL", "USDC"}
    assert (rows["USDC"]["available"], rows["USDC"]["locked"], rows["USDC"]["total"]) == (
        "12.500000",
        "7.500000",
        "20.000000",
    )
    assert rows["SOL"]["total"] == "0.000000000"
    assert [d["amount"] for d in resp.context["d"]["deposits"]] == ["20"]
    assert resp.context["d"]["withdrawals"] == []
    assert "20.000000" in resp.content.decode()


def test_api_keys_page_creates_a_key_and_shows_its_secret_only_then(client, db, api_env):
    alice = make_user("alice")
    client.force_login(alice)
    resp = client.post("/account/api-keys", {"label": "bot", "permissions": ["read", "withdraw"]})
    created = resp.context["created"]
    assert created["permissions"] == ["read", "withdraw"]
    assert created["api_secret"] in resp.content.decode()
    assert resp["Cache-Control"] == "no-store"
    listed = client.get("/account/api-keys")
    assert created["api_key"] in listed.content.decode()
    assert created["api_secret"] not in listed.content.decode()


def test_api_keys_page_refuses_a_key_without_permissions(client, db, api_env):
    client.force_login(make_user("alice"))
    resp = client.post("/account/api-keys", {"label": "bot"})
    assert "Choose at least one permission" in resp.content.decode()
    assert not ApiKey.objects.exists()


def test_api_keys_page_revokes_own_keys_only(client, db, api_env):
    alice, bob = make_user("alice"), make_user("bob")
    mine, _ = make_api_key(alice)
    theirs, _ = make_api_key(bob)
    client.force_login(alice)
    client.post(f"/account/api-keys/{theirs.key_id}/revoke")
    client.post(f"/account/api-keys/{mine.key_id}/revoke")
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.revoked_at is not None
    assert theirs.revoked_at is None
