import pytest

from trading.specs import cached_market


@pytest.fixture(autouse=True)
def fresh_market_cache():
    """Markets get new ids in every test's transaction; the process-wide cache must not leak."""
    cached_market.cache_clear()
    yield
    cached_market.cache_clear()
