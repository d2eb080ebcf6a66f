"""Every admin page an operator can reach loads, for every registered model."""

import pytest
from django.contrib import admin
from django.db.models import Model
from django.urls import reverse

from accounts import keys
from accounts.models import ApiKey, Balance, User
from accounts.selectors import fee_account_id
from tests.factories import make_one_of_each
from trading.models import Market

REGISTERED = sorted(admin.site._registry, key=lambda m: m._meta.label)


def admin_url(model: type[Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def rows(alice, bob):
    return make_one_of_each(alice, bob)


def test_every_registered_model_has_a_test_row_when_listed(rows):
    assert set(REGISTERED) == set(rows)


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_admin_pages_load_when_a_superuser_opens_them(admin_client, rows, model):
    # given one row of the model, when the superuser opens the list (with a search), the row and
    # the add form where adding is allowed, then each page renders
    model_admin = admin.site._registry[model]
    assert admin_client.get(admin_url(model, "changelist")).status_code == 200
    if model_admin.search_fields:
        assert admin_client.get(admin_url(model, "changelist") + "?q=alice").status_code == 200
    assert admin_client.get(admin_url(model, "change", rows[model].pk)).status_code == 200
    add = admin_client.get(admin_url(model, "add"))
    assert add.status_code == (200 if model_admin.has_add_permission(add.wsgi_request) else 403)


def test_projection_is_read_only_when_an_operator_tries_to_edit_it(admin_client, rows):
    balance = rows[Balance]
    url = admin_url(Balance, "change", balance.pk)
    admin_client.post(url, {"available": "1000000"})
    balance.refresh_from_db()
    assert str(balance.available) != "1000000"
    assert admin_client.get(admin_url(Balance, "add")).status_code == 403


def test_api_key_page_never_shows_the_secret_when_opened(admin_client, rows):
    api_key = rows[ApiKey]
    html = admin_client.get(admin_url(ApiKey, "change", api_key.pk)).content.decode()
    assert api_key.key_id in html
    assert keys.api_key_secret(api_key) not in html
    assert api_key.secret_nonce not in html


def test_api_keys_are_revoked_when_an_operator_uses_the_action(admin_client, rows):
    api_key = rows[ApiKey]
    admin_client.post(
        admin_url(ApiKey, "changelist"), {"action": "revoke", "_selected_action": [api_key.pk]}
    )
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None


def test_fee_account_cannot_be_deleted_when_an_operator_tries(admin_client, db):
    response = admin_client.get(admin_url(User, "delete", fee_account_id()))
    assert response.status_code == 403


def test_user_is_created_when_an_operator_submits_the_add_form(admin_client, db):
    response = admin_client.post(
        admin_url(User, "add"),
        {
            "username": "dora",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="dora").check_password("a-long-pass-phrase-9")


def test_market_is_refused_with_a_form_error_when_its_sizes_are_inexact(admin_client, assets):
    response = admin_client.post(
        admin_url(Market, "add"),
        {
            "symbol": "SOL_USDC",
            "base": assets["SOL"].pk,
            "quote": assets["USDC"].pk,
            "tick_size": "0.01",
            "lot_size": "0.00001",  # 0.01 x 0.00001 = a tenth of a USDC atom
            "min_notional": "1",
            "maker_fee_rate": "0.001",
            "taker_fee_rate": "0.002",
        },
    )
    assert response.status_code == 200
    assert "whole number of USDC atoms" in response.content.decode()
    assert not Market.objects.exists()


def test_a_halted_persistence_is_shown_and_retried_when_an_operator_uses_the_action(
    admin_client, db
):
    from django.utils import timezone

    from trading.models import EventCheckpoint

    # given a shard whose persistence halted on an event
    EventCheckpoint.objects.create(
        stream="s0",
        last_seq=41,
        halted_at=timezone.now(),
        halted_seq=42,
        halted_entry="1-0",
        halt_reason="BalanceChanged seq 42 (command c1): DoesNotExist: no such asset",
    )
    url = admin_url(EventCheckpoint, "changelist")
    # when the operator opens the checkpoints, then the halt is said, with the way out
    page = admin_client.get(url).content.decode()
    assert "Persistence of shard s0 is HALTED at event seq 42" in page
    assert "resume_persister --shard s0" in page
    # when the operator retries it, then the halt is cleared (the persister tries again)
    admin_client.post(url, {"action": "retry_halted", "_selected_action": ["s0"]})
    row = EventCheckpoint.objects.get(stream="s0")
    assert (row.halted_at, row.halted_seq, row.halt_reason) == (None, None, "")
