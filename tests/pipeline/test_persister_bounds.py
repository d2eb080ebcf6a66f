"""Amounts at and beyond the bounds, through the engine and the real persister into Postgres:
whatever the engine accepts is stored exactly (no NumericValueOutOfRange can poison a shard),
and Postgres equals the engine afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import redis
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Balance, User
from accounts.selectors import fee_account_id
from accounts.services import asset_upsert
from marketdata.models import Kline
from matching.commands import CancelOrder, Deposit, PlaceOrder, Withdraw
from matching.engine import MatchingEngine
from pipeline.event_reader import EventReader
from pipeline.persister import Persister
from pipeline.streams import PERSISTER_GROUP, EventBatch
from tests.matching.builders import ALICE, BOB, CAROL, add_market, deposit
from tests.matching.test_bounds import (
    BIG,
    FUNDED,
    MAX,
    check_storable,
    command_near_the_bounds,
)
from tests.support.pipeline import clear_id_caches
from trading import services as trading_services
from trading.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def big_market(db: None) -> Iterator[dict[int, int]]:
    """The XB_XQ market of tests/matching/test_bounds.py, in the database, and a user for
    each of the strategy's accounts (1-3 -> their ids)."""
    from accounts.apps import ensure_fee_account

    ensure_fee_account(None)  # type: ignore[arg-type]  # gone if a transactional test ran
    base = asset_upsert("XB", name="Big base", decimals=0)
    quote = asset_upsert("XQ", name="Big quote", decimals=0)
    trading_services.market_upsert(
        BIG.symbol,
        base=base,
        quote=quote,
        tick_size=BIG.tick_size,
        lot_size=BIG.lot_size,
        min_notional=BIG.min_notional,
        maker_fee_rate=BIG.maker_fee_rate,
        taker_fee_rate=BIG.taker_fee_rate,
    )
    users = {a: User.objects.create(username=f"bounded{a}").pk for a in (ALICE, BOB, CAROL)}
    clear_id_caches()
    yield users
    clear_id_caches()


def _persist(persister: Persister, events: list, n: int) -> None:
    if events:
        batch = EventBatch(f"{n}-0".encode(), events[0][0], events[-1][0], b"0-1", events)
        persister.apply([batch])


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_postgres_stores_whatever_the_engine_accepts_near_the_bounds(
    big_market: dict[int, int], rds: redis.Redis, data: st.DataObject
) -> None:
    with transaction.atomic():  # each example starts from the same empty venue
        fee = fee_account_id()
        engine = MatchingEngine(fee)
        engine.apply(add_market(BIG))
        persister = Persister(EventReader(rds, "t0", PERSISTER_GROUP, "persister"))
        persister.setup()
        pending: list = []
        for account, asset, amount in FUNDED:
            pending += engine.apply(deposit(big_market[account], asset, amount))
        for order_id in range(1, 31):
            cmd = data.draw(command_near_the_bounds(order_id))
            if isinstance(cmd, Deposit | Withdraw | PlaceOrder | CancelOrder):
                cmd = cmd._replace(account=big_market[cmd.account])
            events = engine.apply(cmd)
            for ev in events:
                check_storable(ev)
            pending += events
            if order_id % 10 == 0:
                _persist(persister, pending, order_id)
                pending = []

        # then every balance and every order Postgres holds is the engine's, to the atom
        for account in (*big_market.values(), fee):
            for asset in ("XB", "XQ"):
                row = Balance.objects.filter(user_id=account, asset__code=asset).first()
                stored = (0, 0) if row is None else (int(row.available), int(row.locked))
                assert stored == engine.balance(account, asset)
                assert stored[0] + stored[1] <= MAX
        for o in engine.open_orders_by_id.values():
            assert Order.objects.get(pk=o.order_id).filled_quote == Decimal(o.filled_quote)
        assert all(k.volume >= 0 for k in Kline.objects.all())
        transaction.set_rollback(True)
