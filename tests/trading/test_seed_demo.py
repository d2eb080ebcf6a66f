from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Model

from accounts.models import Asset, Deposit, User
from trading import demo
from trading.models import Market

SEEDED: list[type[Model]] = [User, Asset, Market, Deposit]


def snapshot() -> dict[str, list[dict[str, Any]]]:
    return {m.__name__: list(m._default_manager.order_by("pk").values()) for m in SEEDED}


def test_seed_demo_leaves_the_same_rows_when_run_twice(db, settings):
    # given a seeded database
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    first = snapshot()
    # when the seed runs again
    call_command("seed_demo", stdout=StringIO())
    # then every row is identical, values included (passwords are not re-hashed)
    assert snapshot() == first
    assert len(first["Asset"]) == 4
    assert len(first["Market"]) == 3
    assert len(first["Deposit"]) == len(demo.TRADERS) * len(demo.TRADER_FUNDS)


def test_seed_demo_creates_users_that_can_log_in_when_run(client, db, settings):
    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", stdout=out)
    for username, password in demo.credentials():
        assert f"{username} / {password}" in out.getvalue()
        assert client.login(username=username, password=password)
    assert User.objects.get(username="admin").is_superuser


def test_seed_demo_is_refused_when_debug_is_off(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.filter(username="admin").exists()


def test_seed_demo_runs_when_debug_is_off_and_forced(db, settings):
    settings.DEBUG = False
    call_command("seed_demo", "--force", stdout=StringIO())
    assert Market.objects.count() == 3
