"""GET /api/v1/account: who am I (the benchmark's trivial authenticated endpoint)."""

import pytest

from tests.api import Api

pytestmark = pytest.mark.usefixtures("api_env")


def test_account_names_the_caller_and_the_keys_permissions_when_asked(alice):
    api = Api.for_user(alice, "read")
    assert api.get("/api/v1/account").json() == {
        "user_id": alice.pk,
        "username": "alice",
        "permissions": ["read"],
    }


def test_account_costs_no_query_when_signed_with_a_cached_key(alice, django_assert_num_queries):
    api = Api.for_user(alice, "read")
    api.get("/api/v1/account")  # the first use reads the key and writes last_used_at
    with django_assert_num_queries(0):
        assert api.get("/api/v1/account").status_code == 200
