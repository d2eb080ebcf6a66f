"""POST /api/v1/users: sign-up."""

import pytest
from django.test import Client

from accounts.models import User

pytestmark = pytest.mark.usefixtures("api_env")

GOOD = {"username": "dora", "password": "a-long-pass-phrase-9", "email": "dora@example.com"}


def signup(body):
    return Client().post("/api/v1/users", body, content_type="application/json")


def test_account_is_created_when_the_fields_are_valid(db):
    resp = signup(GOOD)
    assert resp.status_code == 201
    user = User.objects.get(username="dora")
    assert resp.json() == {"user_id": user.pk, "username": "dora"}
    assert user.check_password(GOOD["password"])
    assert not user.is_staff


def test_account_is_refused_with_the_validators_messages_when_the_password_is_weak(db):
    resp = signup({**GOOD, "password": "12345678"})
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["details"]["password"]
    assert not User.objects.filter(username="dora").exists()


@pytest.mark.parametrize("taken", ["dora", "DORA"])
def test_account_is_refused_with_username_taken_when_the_name_exists(db, taken):
    assert signup(GOOD).status_code == 201
    resp = signup({**GOOD, "username": taken})
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "username_taken"


def test_account_is_created_when_a_signed_or_session_request_is_sent_too(client, alice):
    client.force_login(alice)  # sign-up ignores who is asking
    assert client.post("/api/v1/users", GOOD, content_type="application/json").status_code == 201


@pytest.mark.parametrize("email", [None, "", "not-an-address"])
def test_account_is_refused_naming_email_when_it_is_missing_or_invalid(db, email):
    body = {k: v for k, v in GOOD.items() if k != "email"}
    if email is not None:
        body["email"] = email
    resp = signup(body)
    assert resp.status_code == 400
    assert list(resp.json()["error"]["details"]) == ["email"]
    assert not User.objects.filter(username="dora").exists()
