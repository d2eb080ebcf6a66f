"""A market spec must let the engine compute every notional exactly in quote atoms."""

from decimal import Decimal

import pytest

from common.errors import ValidationFailed
from tests.factories import make_market


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        # SOL has 9 decimals, USDC 6.
        ({"tick_size": Decimal("0.0000001")}, "tick_size"),  # finer than a USDC atom
        ({"lot_size": Decimal("0.0000000001")}, "lot_size"),  # finer than a SOL atom
        # 0.01 x 0.00001 = 1e-7 USDC: a tenth of an atom per lot and tick
        ({"tick_size": Decimal("0.01"), "lot_size": Decimal("0.00001")}, "lot_size"),
    ],
)
def test_market_is_refused_when_sizes_are_not_whole_atoms(assets, overrides, field):
    with pytest.raises(ValidationFailed) as refused:
        make_market("SOL_USDC", **overrides)
    assert refused.value.code == "invalid_market_spec"
    assert field in refused.value.details


def test_market_is_refused_when_the_symbol_does_not_name_its_assets(assets):
    with pytest.raises(ValidationFailed) as refused:
        make_market("SOL_USDC", base=assets["BTC"])
    assert "symbol" in refused.value.details


@pytest.mark.parametrize("symbol", ["SOL_USDC", "BTC_USDC", "ETH_USDC"])
def test_market_is_accepted_when_it_is_a_demo_market(assets, symbol):
    market = make_market(symbol)
    assert market.is_trading
