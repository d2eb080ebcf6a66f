"""Engine-level market specs shared by tests that need no database."""

from __future__ import annotations

from decimal import Decimal

from matching.types import AssetSpec, MarketSpec

SOL_USDC = MarketSpec(
    "SOL_USDC",
    AssetSpec("SOL", 9),
    AssetSpec("USDC", 6),
    Decimal("0.01"),
    Decimal("0.01"),
    Decimal("1"),
    Decimal("0.001"),
    Decimal("0.002"),
)
