from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from tests.factories import make_order, make_trade
from trading.models import Market, OrderType, Side


def test_client_order_id_is_refused_when_the_same_user_reuses_it(alice, sol_usdc):
    make_order(alice, sol_usdc, client_order_id="my-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_order(alice, sol_usdc, client_order_id="my-1")


def test_client_order_id_is_accepted_when_two_users_share_it(alice, bob, sol_usdc):
    make_order(alice, sol_usdc, client_order_id="shared")
    make_order(bob, sol_usdc, client_order_id="shared")


def test_client_order_id_never_collides_when_absent(alice, sol_usdc):
    for _ in range(3):
        make_order(alice, sol_usdc, client_order_id=None)


@pytest.mark.parametrize(
    "fields",
    [
        {"filled_quantity": Decimal("-0.01")},
        {"filled_quote": Decimal("-1")},
        {"quantity": Decimal("0")},
        {"quote_quantity": Decimal("-5"), "quantity": None},
        {"price": Decimal("0")},
        {"type": OrderType.LIMIT, "price": None},  # a limit order needs a price
        {"type": OrderType.MARKET, "price": None, "quantity": None},  # and every order a size
    ],
)
def test_order_is_refused_when_a_field_is_impossible(alice, sol_usdc, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        make_order(alice, sol_usdc, **fields)


def test_market_order_is_accepted_when_it_has_a_quote_size_and_no_price(alice, sol_usdc):
    order = make_order(
        alice, sol_usdc, type=OrderType.MARKET, price=None, quantity=None, quote_quantity="50"
    )
    assert order.price is None


def test_trade_is_refused_when_the_engine_id_repeats_in_a_market(alice, bob, sol_usdc):
    maker = make_order(alice, sol_usdc, side=Side.SELL)
    taker = make_order(bob, sol_usdc, side=Side.BUY)
    make_trade(maker, taker, trade_id=7)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_trade(maker, taker, trade_id=7)


def test_trade_ids_may_repeat_when_markets_differ(alice, bob, markets):
    for symbol in ("SOL_USDC", "BTC_USDC"):
        market = markets[symbol]
        maker = make_order(alice, market, side=Side.SELL, price=Decimal("100"))
        taker = make_order(bob, market, side=Side.BUY, price=Decimal("100"))
        make_trade(maker, taker, trade_id=1)


def test_market_is_refused_by_the_database_when_base_equals_quote(assets):
    usdc = assets["USDC"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Market.objects.create(
            symbol="USDC_USDC",
            base=usdc,
            quote=usdc,
            tick_size=Decimal("0.01"),
            lot_size=Decimal("1"),
            min_notional=Decimal("1"),
            maker_fee_rate=Decimal(0),
            taker_fee_rate=Decimal(0),
        )


@pytest.mark.parametrize("rate", ["1", "-0.001"])
def test_market_is_refused_by_the_database_when_a_fee_rate_is_out_of_range(sol_usdc, rate):
    with pytest.raises(IntegrityError), transaction.atomic():
        Market.objects.filter(pk=sol_usdc.pk).update(taker_fee_rate=Decimal(rate))
