"""Password guessing through HTTP Basic on /api/v1/api-keys is cut off after a few failures."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests import factories
from tests.support.embedded_redis import ON_BOTH_REDIS_SERVERS

pytestmark = [*ON_BOTH_REDIS_SERVERS, pytest.mark.django_db]

URL = "/api/v1/api-keys"


@pytest.fixture
def few_failures(settings: Any, generous_throttles: None) -> None:
    settings.LOGIN_FAILURES_PER_USER = 3
    settings.LOGIN_FAILURES_PER_IP = 100


def _post(username: str, password: str) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=_basic(username, password))
    return client.post(URL, {}, format="json")


def _basic(username: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_the_right_password_is_refused_with_429_after_too_many_wrong_ones(few_failures: None):
    # given a user whose password was guessed wrong three times
    factories.make_user("victim")
    for _ in range(3):
        assert _post("victim", "wrong").status_code == 401

    # when the right password is tried
    resp = _post("victim", "pw-victim-123!")

    # then it is refused until the window ends, with a stable code and Retry-After
    assert resp.status_code == 429
    assert resp.json()["error"]["code"] == "throttled"
    assert int(resp["Retry-After"]) > 0


def test_other_users_can_still_log_in_when_one_user_is_locked(few_failures: None) -> None:
    factories.make_user("victim2")
    factories.make_user("bystander")
    for _ in range(3):
        _post("victim2", "wrong")

    assert _post("bystander", "pw-bystander-123!").status_code == 201


def test_a_correct_password_works_when_below_the_limit(few_failures: None) -> None:
    factories.make_user("typo")
    assert _post("typo", "wrong").status_code == 401
    assert _post("typo", "pw-typo-123!").status_code == 201
