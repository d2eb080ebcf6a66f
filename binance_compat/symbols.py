"""Binance symbols (``SOLUSDC``) and our market symbols (``SOL_USDC``).

A Binance symbol is the base and quote codes run together. Two markets could run together to
the same name (``AB_CDE`` and ``ABC_DE``): such a name is ambiguous, and both markets are left
out of this surface (logged) rather than one of them answering for the other.

The map is read from the database at most once a second on a miss and refreshed every 10 s,
so a market listed by an operator appears here within seconds, without a query per request.
"""

from __future__ import annotations

import logging
import threading
import time

from trading.models import Market

log = logging.getLogger(__name__)

REFRESH_S = 10.0
MISS_RELOAD_S = 1.0


class SymbolMap:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._to_native: dict[str, str] = {}
        self._to_binance: dict[str, str] = {}
        self._loaded_at = float("-inf")

    def _load(self) -> None:
        pairs = list(Market.objects.values_list("symbol", "base__code", "quote__code"))
        to_native: dict[str, str] = {}
        ambiguous: set[str] = set()
        for symbol, base, quote in pairs:
            name = f"{base}{quote}"
            if name in to_native:
                ambiguous.add(name)
            to_native[name] = symbol
        for name in ambiguous:
            log.warning(
                "Binance symbol %s is ambiguous; its markets are not listed on /api/v3", name
            )
            del to_native[name]
        with self._lock:
            self._to_native = to_native
            self._to_binance = {v: k for k, v in to_native.items()}
            self._loaded_at = time.monotonic()

    def _fresh(self, miss: bool) -> None:
        age = time.monotonic() - self._loaded_at
        if age > REFRESH_S or (miss and age > MISS_RELOAD_S):
            self._load()

    def native(self, binance_symbol: str) -> str | None:
        """``SOLUSDC`` -> ``SOL_USDC`` (upper case only, as Binance), or None."""
        self._fresh(miss=False)
        found = self._to_native.get(binance_symbol)
        if found is None and len(binance_symbol) <= 20 and binance_symbol.isalnum():
            self._fresh(miss=True)
            found = self._to_native.get(binance_symbol)
        return found

    def binance(self, native_symbol: str) -> str:
        """``SOL_USDC`` -> ``SOLUSDC``; a market left out (ambiguous) keeps its own name."""
        self._fresh(miss=False)
        found = self._to_binance.get(native_symbol)
        if found is None:
            self._fresh(miss=True)
            found = self._to_binance.get(native_symbol)
        return found if found is not None else native_symbol.replace("_", "")

    def listed(self) -> dict[str, str]:
        """Binance symbol -> native symbol, for every market this surface lists."""
        self._fresh(miss=False)
        return dict(self._to_native)

    def clear(self) -> None:
        """Forget the map (tests that list markets)."""
        self._loaded_at = float("-inf")


symbols = SymbolMap()
