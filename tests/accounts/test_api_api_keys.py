"""POST/GET /api/v1/api-keys, DELETE /api/v1/api-keys/<api_key>: password or session only."""

import base64

import pytest
from django.test import Client

from accounts.models import ApiKey
from tests.api import Api
from tests.factories import make_api_key, make_user

pytestmark = pytest.mark.usefixtures("api_env")

PASSWORD = "pw-alice-123!"  # tests.factories.make_user


def basic(username: str = "alice", password: str = PASSWORD) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def create(body=None, headers=None):
    return Client().post(
        "/api/v1/api-keys", body or {}, content_type="application/json", headers=headers
    )


def test_key_is_created_with_its_secret_once_when_asked_with_the_password(alice):
    # when alice creates a key with her password and no body
    resp = create(headers=basic())
    # then it has the default permissions and a secret that signs requests
    assert resp.status_code == 201, resp.content
    data = resp.json()
    assert data["permissions"] == ["read", "trade"]
    assert len(data["api_secret"]) == 64
    api = Api(alice, ApiKey.objects.get(key_id=data["api_key"]), data["api_secret"])
    assert api.get("/api/v1/account").status_code == 200
    # and the secret is never listed again
    listing = Client().get("/api/v1/api-keys", headers=basic())
    assert listing.status_code == 200
    assert [k["api_key"] for k in listing.json()] == [data["api_key"]]
    assert "api_secret" not in listing.json()[0]
    assert data["api_secret"] not in listing.content.decode()


def test_key_gets_the_asked_permissions_and_label_when_given(alice):
    resp = create({"label": "bot 1", "permissions": ["read", "withdraw"]}, basic())
    assert resp.status_code == 201
    assert (resp.json()["label"], resp.json()["permissions"]) == ("bot 1", ["read", "withdraw"])


def test_key_is_created_when_the_web_session_asks(client, alice):
    client.force_login(alice)
    resp = client.post("/api/v1/api-keys", {}, content_type="application/json")
    assert resp.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"permissions": []},
        {"permissions": ["admin"]},
        {"permissions": "read"},
        {"label": "x" * 65},
        {"label": {"a": 1}},
        ["read"],
    ],
)
def test_key_is_refused_when_the_body_is_invalid(alice, body):
    resp = create(body, basic())
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "invalid_request"


def test_key_is_refused_when_the_password_is_wrong(alice):
    resp = create(headers=basic(password="wrong"))
    assert resp.status_code == 401
    assert not ApiKey.objects.exists()


def test_keys_cannot_be_managed_with_an_api_key_when_signed(alice):
    # a leaked read key must not mint a withdraw key
    api = Api.for_user(alice, "read", "trade", "withdraw")
    created = api.post("/api/v1/api-keys", {"permissions": ["withdraw"]})
    listed = api.get("/api/v1/api-keys")
    revoked = api.delete(f"/api/v1/api-keys/{api.api_key.key_id}")
    for resp in (created, listed, revoked):
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == "authentication_required"
    assert ApiKey.objects.count() == 1


def test_key_is_refused_at_once_when_revoked(alice):
    api = Api.for_user(alice)
    resp = Client().delete(f"/api/v1/api-keys/{api.api_key.key_id}", headers=basic())
    assert resp.status_code == 204
    assert api.get("/api/v1/account").json()["error"]["code"] == "api_key_revoked"
    assert Client().get("/api/v1/api-keys", headers=basic()).json() == []


def test_revoking_another_users_key_is_not_found_when_tried(alice):
    bob = make_user("bob")
    bobs_key, _ = make_api_key(bob)
    resp = Client().delete(f"/api/v1/api-keys/{bobs_key.key_id}", headers=basic())
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "api_key_not_found"
    bobs_key.refresh_from_db()
    assert bobs_key.revoked_at is None
