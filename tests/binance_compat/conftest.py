from collections.abc import Iterator

import pytest

from binance_compat.symbols import symbols
from tests.support.pipeline import clear_id_caches


@pytest.fixture(autouse=True)
def fresh_market_caches() -> Iterator[None]:
    """Markets get new ids in every test's transaction; the process-wide caches must not leak."""
    clear_id_caches()
    symbols.clear()
    yield
    clear_id_caches()
    symbols.clear()
