"""Database choices carry the engine's strings unchanged (matching.types is the reference)."""

import pytest

from accounts.models import LedgerReason
from matching import types as engine
from trading import models

PAIRS = [
    (models.Side, engine.Side),
    (models.OrderType, engine.OrderType),
    (models.TimeInForce, engine.TimeInForce),
    (models.StpMode, engine.StpMode),
    (models.MarketStatus, engine.MarketStatus),
    (models.OrderStatus, engine.OrderStatus),
    (LedgerReason, engine.BalanceReason),
]


@pytest.mark.parametrize(("choices", "enum"), PAIRS)
def test_choices_equal_the_engine_values_when_compared(choices, enum):
    assert set(choices.values) == {member.value for member in enum}
