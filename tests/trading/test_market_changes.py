"""An operator's market changes go to the matcher as commands; the row follows the engine.

``trading.services.market_add`` / ``market_change`` (the admin's form calls them): the command
first, the row written by the persister from the engine's event, so a refused or unanswered
change leaves the row as it was. The real matcher and persister run in threads (``pipeline``);
tests/integration/test_market_admin.py drives the same through the admin of a real server.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from accounts.models import Asset
from accounts.services import asset_upsert
from common.errors import Conflict, Unavailable, ValidationFailed
from matching.types import MarketStatus as EngineMarketStatus
from tests.api import Api
from tests.factories import make_user
from trading import services
from trading.models import Market, MarketStatus
from trading.services import validation
from trading.specs import MarketEntry, cached_market, units_drain_s

D = Decimal
FEES = {"maker_fee_rate": D("0.001"), "taker_fee_rate": D("0.002")}
SOL_SIZES = {"tick_size": D("0.01"), "lot_size": D("0.01"), "min_notional": D("1"), **FEES}


@pytest.fixture
def fast_caches(settings: Any) -> None:
    settings.MARKET_SPEC_CACHE_TTL_S = 0.2  # what a change waits out, scaled down


@pytest.fixture
def doge(db: None) -> Asset:
    return asset_upsert("DOGE", name="Dogecoin", decimals=8)


def _engine(pipeline: Any, symbol: str) -> Any:
    return pipeline.matchers["s0"].engine.market(symbol)


def _change(market: Market, **fields: Decimal) -> services.MarketChanged:
    return services.market_change(market, **{**SOL_SIZES, **fields})


@pytest.mark.django_db(transaction=True)
def test_a_market_added_by_an_operator_trades_on_the_next_order(pipeline, doge, fast_caches):
    # when the operator lists DOGE_USDC on the running venue
    usdc = Asset.objects.get(code="USDC")
    market = services.market_add(
        "DOGE_USDC",
        base=doge,
        quote=usdc,
        tick_size=D("0.0001"),
        lot_size=D("1"),
        min_notional=D("1"),
        **FEES,
    )

    # then the matcher has it, and the row is the persister's record of it
    assert _engine(pipeline, "DOGE_USDC").tick_size == D("0.0001")
    assert (market.symbol, market.status, market.base_id) == ("DOGE_USDC", "trading", doge.pk)
    # and deposits of the new asset and orders in the new market work at once
    alice = Api.for_user(make_user("alice")).fund(USDC="100")
    bob = Api.for_user(make_user("bob")).fund(DOGE="1000")
    rest = alice.place(symbol="DOGE_USDC", side="buy", price="0.1234", quantity="100")
    assert (rest.status_code, rest.json()["status"]) == (201, "new"), rest.content
    take = bob.place(symbol="DOGE_USDC", side="sell", price="0.12", quantity="100")
    assert (take.status_code, take.json()["status"]) == (201, "filled"), take.content
    assert D(take.json()["filled_quote"]) == D("12.34")


def test_an_addition_the_matcher_does_not_answer_leaves_no_row(doge, api_env, settings):
    from pipeline.client import _local

    settings.ORDER_REPLY_TIMEOUT = 0.05  # no matcher runs: the command stays queued
    _local.__dict__.pop("client", None)
    usdc = asset_upsert("USDC", name="USD Coin", decimals=6)
    try:
        with pytest.raises(Unavailable) as refused:
            services.market_add(
                "DOGE_USDC", base=doge, quote=usdc, tick_size=D("0.0001"), lot_size=D("1"),
                min_notional=D("1"), **FEES,
            )  # fmt: skip
    finally:
        _local.__dict__.pop("client", None)
    assert refused.value.code == "matcher_unavailable"
    assert "queued" in refused.value.message
    assert not Market.objects.filter(symbol="DOGE_USDC").exists()  # the persister writes it


def test_an_invalid_market_is_refused_before_anything_is_sent(doge, api_env):
    usdc = asset_upsert("USDC", name="USD Coin", decimals=6)
    with pytest.raises(ValidationFailed) as refused:
        services.market_add(
            "DOGE_USDC", base=doge, quote=usdc, tick_size=D("0.0000001"), lot_size=D("1"),
            min_notional=D("1"), **FEES,
        )  # fmt: skip
    assert refused.value.code == "invalid_market_spec"
    assert "tick_size" in refused.value.details


@pytest.mark.django_db(transaction=True)
def test_a_fee_change_is_in_force_for_the_next_trade(pipeline, markets):
    # when the operator changes the taker fee of SOL_USDC
    done = _change(markets["SOL_USDC"], taker_fee_rate=D("0.005"))

    # then the engine and the row have it, and the admin can say what changed
    assert _engine(pipeline, "SOL_USDC").taker_fee_rate == D("0.005")
    assert Market.objects.get(symbol="SOL_USDC").taker_fee_rate == D("0.005")
    assert done.changes == ("taker fee rate 0.002 -> 0.005",)
    # and the next trade pays it: 1 SOL bought at 10 costs the taker 0.005 SOL
    alice = Api.for_user(make_user("alice")).fund(SOL="5")
    bob = Api.for_user(make_user("bob")).fund(USDC="100")
    assert alice.place(side="sell", price="10", quantity="1").status_code == 201
    take = bob.place(side="buy", price="10", quantity="1").json()
    assert [(D(f["fee"]), f["fee_asset"]) for f in take["fills"]] == [(D("0.005"), "SOL")]


@pytest.mark.django_db(transaction=True)
def test_a_tick_change_is_refused_by_the_matcher_while_orders_rest(pipeline, markets):
    # given an order resting on SOL_USDC
    alice = Api.for_user(make_user("alice")).fund(USDC="100")
    assert alice.place(side="buy", price="10", quantity="1").status_code == 201

    # when the operator changes its tick size
    with pytest.raises(ValidationFailed) as refused:
        _change(markets["SOL_USDC"], tick_size=D("0.1"))

    # then the engine's reason is given in words, and nothing changed anywhere
    assert refused.value.code == "market_not_empty"
    assert "orders rest on the SOL_USDC book (1 open)" in refused.value.message
    assert _engine(pipeline, "SOL_USDC").tick_size == D("0.01")
    assert _engine(pipeline, "SOL_USDC").status == EngineMarketStatus.TRADING
    row = Market.objects.get(symbol="SOL_USDC")
    assert (row.tick_size, row.status) == (D("0.01"), "trading")


@pytest.mark.django_db(transaction=True)
def test_a_tick_change_halts_while_caches_drain_then_trades_at_the_new_tick(
    pipeline, markets, fast_caches
):
    # given an empty SOL_USDC book
    alice = Api.for_user(make_user("alice")).fund(USDC="100")

    # when the operator coarsens its tick from 0.01 to 0.1
    done = _change(markets["SOL_USDC"], tick_size=D("0.1"))

    # then it was halted for at least the drain, and trades again at the new tick
    assert done.halted_for_s >= units_drain_s()
    assert "halted for" in done.describe()
    assert done.market.status == MarketStatus.TRADING
    assert _engine(pipeline, "SOL_USDC").tick_size == D("0.1")
    off_grid = alice.place(side="buy", price="10.05", quantity="1")
    assert (off_grid.status_code, off_grid.json()["error"]["code"]) == (400, "price_off_tick")
    on_grid = alice.place(side="buy", price="10.1", quantity="1")
    assert (on_grid.status_code, on_grid.json()["price"]) == (201, "10.1")


@pytest.mark.django_db(transaction=True)
def test_a_halted_market_stays_halted_after_a_tick_change(pipeline, markets, fast_caches):
    services.market_set_status(markets["SOL_USDC"], MarketStatus.HALTED)

    done = _change(markets["SOL_USDC"], lot_size=D("0.1"))

    assert (done.halted_for_s, done.market.status) == (0.0, MarketStatus.HALTED)
    assert "resume it to trade" in done.describe()
    assert _engine(pipeline, "SOL_USDC").lot_size == D("0.1")


@pytest.mark.django_db(transaction=True)
def test_a_tick_change_is_refused_once_the_market_has_traded(pipeline, markets):
    alice = Api.for_user(make_user("alice")).fund(SOL="5")
    bob = Api.for_user(make_user("bob")).fund(USDC="100")
    assert alice.place(side="sell", price="10", quantity="1").status_code == 201
    assert bob.place(side="buy", price="10", quantity="1").json()["status"] == "filled"

    with pytest.raises(ValidationFailed) as refused:
        _change(markets["SOL_USDC"], tick_size=D("0.1"))

    assert refused.value.code == "market_has_traded"
    assert _engine(pipeline, "SOL_USDC").tick_size == D("0.01")
    assert _engine(pipeline, "SOL_USDC").status == EngineMarketStatus.TRADING


@pytest.mark.django_db(transaction=True)
def test_a_minimum_notional_change_waits_until_every_process_has_read_it(
    pipeline, markets, fast_caches
):
    alice = Api.for_user(make_user("alice")).fund(USDC="100")
    before = alice.place(side="buy", price="1", quantity="2")  # worth 2: above the minimum 1
    assert before.status_code == 201

    _change(markets["SOL_USDC"], min_notional=D("5"))

    after = alice.place(side="buy", price="1", quantity="2")
    assert (after.status_code, after.json()["error"]["code"]) == (400, "below_min_notional")


def test_an_order_converted_with_sizes_since_changed_is_not_sent(sol_usdc, api_env):
    # given a process's entry read long ago with a tick of 0.001, the row now at 0.01
    import time

    stale_spec = cached_market("SOL_USDC")[1].__class__(
        **{**_fields(cached_market("SOL_USDC")[1]), "tick_size": D("0.001")}
    )
    entry = MarketEntry((sol_usdc.pk, stale_spec, 0, 0), time.monotonic() - 60, 1.0)

    with pytest.raises(Conflict) as refused:
        validation.check_sizes_still("SOL_USDC", entry)

    assert refused.value.code == "market_changed"
    # the same old entry, the row's sizes unchanged: sent
    same = MarketEntry(cached_market.entry("SOL_USDC").value, time.monotonic() - 60, 1.0)
    validation.check_sizes_still("SOL_USDC", same)


def _fields(spec: Any) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in spec.__dataclass_fields__}


# --- through the admin (Django's test client, in-process pipeline) ------------------------------


def _market_form(market: Market, **changes: str) -> dict[str, str]:
    return {
        name: changes.get(name, str(getattr(market, name)))
        for name in ("tick_size", "lot_size", "min_notional", "maker_fee_rate", "taker_fee_rate")
    }


@pytest.mark.django_db(transaction=True)
def test_the_admin_add_form_lists_a_market_and_says_so(admin_client, pipeline, doge, fast_caches):
    usdc = Asset.objects.get(code="USDC")
    response = admin_client.post(
        reverse("admin:trading_market_add"),
        {
            "symbol": "DOGE_USDC",
            "base": doge.pk,
            "quote": usdc.pk,
            "tick_size": "0.0001",
            "lot_size": "1",
            "min_notional": "1",
            "maker_fee_rate": "0.001",
            "taker_fee_rate": "0.002",
        },
        follow=True,
    )
    assert response.status_code == 200
    said = [str(m) for m in response.context["messages"]]
    assert any("DOGE_USDC is listed" in m for m in said), said
    assert _engine(pipeline, "DOGE_USDC") is not None
    assert Market.objects.filter(symbol="DOGE_USDC").exists()


@pytest.mark.django_db(transaction=True)
def test_the_admin_change_form_shows_the_matchers_refusal(admin_client, pipeline, markets):
    # given an order resting on SOL_USDC
    alice = Api.for_user(make_user("alice")).fund(USDC="100")
    assert alice.place(side="buy", price="10", quantity="1").status_code == 201
    market = markets["SOL_USDC"]

    # when the operator submits a new tick size
    url = reverse("admin:trading_market_change", args=[market.pk])
    response = admin_client.post(url, _market_form(market, tick_size="0.1"))

    # then the form comes back with the reason, and nothing changed
    assert response.status_code == 200
    assert "orders rest on the SOL_USDC book (1 open)" in response.content.decode()
    assert Market.objects.get(pk=market.pk).tick_size == D("0.01")


@pytest.mark.django_db(transaction=True)
def test_the_admin_change_form_says_what_changed(admin_client, pipeline, markets):
    market = markets["SOL_USDC"]
    url = reverse("admin:trading_market_change", args=[market.pk])
    response = admin_client.post(url, _market_form(market, maker_fee_rate="0"), follow=True)
    said = [str(m) for m in response.context["messages"]]
    assert any("maker fee rate 0.001 -> 0" in m for m in said), said
    assert _engine(pipeline, "SOL_USDC").maker_fee_rate == D("0")
