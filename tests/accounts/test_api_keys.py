import pytest
from django.forms.models import model_to_dict
from django.test import override_settings

from accounts import keys, services
from accounts.models import ApiKey
from common.errors import ValidationFailed
from tests.factories import make_api_key


def test_api_key_secret_is_stored_nowhere_when_a_key_is_created(alice):
    # given a new key and its secret, shown once
    api_key, secret = make_api_key(alice, "read", "trade")
    # when we read every column of its row
    row = ApiKey.objects.filter(pk=api_key.pk).values().get()
    # then the secret appears in none of them, but can be derived again
    assert all(secret not in str(value) for value in row.values())
    assert len(secret) == 64
    assert keys.api_key_secret(api_key) == secret


def test_api_key_secret_changes_when_the_server_key_rotates(alice):
    api_key, secret = make_api_key(alice)
    with override_settings(API_KEY_SECRET_KEY="another-server-key"):
        assert keys.api_key_secret(api_key) != secret


def test_api_key_has_the_asked_permissions_when_created(alice):
    api_key, _ = make_api_key(alice, "read", "withdraw")
    assert api_key.permissions == ["read", "withdraw"]
    assert model_to_dict(api_key, ["perm_read", "perm_trade", "perm_withdraw"]) == {
        "perm_read": True,
        "perm_trade": False,
        "perm_withdraw": True,
    }


@pytest.mark.parametrize("permissions", [["admin"], [], ["read", "root"]])
def test_api_key_is_refused_when_permissions_are_unknown_or_empty(alice, permissions):
    with pytest.raises(ValidationFailed) as refused:
        services.api_key_create(alice, "bad", permissions)
    assert refused.value.code == "invalid_permissions"


def test_api_key_keeps_its_first_revocation_time_when_revoked_twice(alice):
    api_key, _ = make_api_key(alice)
    first = services.api_key_revoke(api_key).revoked_at
    again = services.api_key_revoke(api_key).revoked_at
    assert first is not None
    assert again == first
    assert not api_key.is_active


def test_api_key_ids_are_unique_random_tokens_when_many_are_created(alice):
    ids = {make_api_key(alice)[0].key_id for _ in range(20)}
    assert len(ids) == 20
