"""Request parameters as Binance sends them, and their checks with Binance's error codes.

GET and DELETE carry them in the query string; POST and PUT in the query string and/or a
``application/x-www-form-urlencoded`` body (a parameter in both: the query string's wins).
``signed_payload`` is what a signature covers: the query string concatenated with the body,
without separator, the ``signature`` parameter taken out, exactly as the bytes were sent.

Numbers stay exact: a DECIMAL parameter must match Binance's legal range
``^([0-9]{1,20})(\\.[0-9]{1,20})?$`` and becomes a ``Decimal``; nothing is rounded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from decimal import Decimal
from urllib.parse import parse_qsl

from binance_compat.errors import BinanceError, invalid, invalid_symbol, mandatory
from binance_compat.symbols import symbols

DECIMAL_RE = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
_DECIMAL = re.compile(DECIMAL_RE)
_LONG = re.compile(r"^-?[0-9]{1,19}$")
_MAX_LONG = 2**63 - 1


def _pairs(raw: str, where: str) -> list[tuple[str, str]]:
    try:
        return parse_qsl(raw, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BinanceError(-1100, f"Illegal characters found in the {where}.") from None


class Params:
    """One request's parameters; ``read`` marks what the endpoint understood."""

    def __init__(self, query: str, body: bytes) -> None:
        try:
            body_text = body.decode("utf-8") if body else ""
        except UnicodeDecodeError:
            raise BinanceError(-1100, "Illegal characters found in the request body.") from None
        self.query = query
        self.body = body_text
        found: dict[str, str] = {}
        for source, where in ((query, "query string"), (body_text, "request body")):
            seen: set[str] = set()
            for key, value in _pairs(source, where):
                if "\x00" in key or "\x00" in value:
                    raise BinanceError(-1100, "Illegal characters found in a parameter.")
                if key in seen:
                    raise BinanceError(-1101, "Duplicate values for a parameter detected.")
                seen.add(key)
                found.setdefault(key, value)  # the query string comes first and wins
        self.values = found

    def signed_payload(self) -> str:
        return _without_signature(self.query) + _without_signature(self.body)

    # --- checks ---------------------------------------------------------------------------

    def allow(self, names: Iterable[str]) -> None:
        """Refuse parameters the endpoint does not read (-1104), as Binance does."""
        extra = set(self.values) - set(names) - {"timestamp", "recvWindow", "signature"}
        if extra:
            raise BinanceError(
                -1104,
                f"Not all sent parameters were read; read '{len(self.values) - len(extra)}' "
                f"parameter(s) but was sent '{len(self.values)}'.",
            )

    def text(self, name: str, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None:
            if required:
                raise mandatory(name)
            return None
        if value == "":
            raise BinanceError(-1105, f"Parameter '{name}' was empty.")
        return value

    def symbol(self, name: str = "symbol", required: bool = True) -> tuple[str, str] | None:
        """(Binance symbol, native symbol) of a listed market; -1121 otherwise."""
        value = self.text(name, required)
        if value is None:
            return None
        native = symbols.native(value)
        if native is None:
            raise invalid_symbol()
        return value, native

    def symbol_list(self, name: str = "symbols") -> list[tuple[str, str]] | None:
        """``symbols=["BTCUSDT","BNBBTC"]`` (a JSON array, as Binance takes it)."""
        raw = self.text(name)
        if raw is None:
            return None
        try:
            names = json.loads(raw)
        except ValueError:
            names = None
        if not isinstance(names, list) or not names or len(names) > 100:
            raise invalid(name)
        out = []
        for item in names:
            native = symbols.native(item) if isinstance(item, str) else None
            if native is None:
                raise invalid_symbol()
            if (item, native) in out:
                raise BinanceError(-1151, "Symbol is present multiple times in the list.")
            out.append((item, native))
        return out

    def decimal(self, name: str) -> Decimal | None:
        value = self.text(name)
        if value is None:
            return None
        if not _DECIMAL.match(value):
            raise BinanceError(
                -1100,
                f"Illegal characters found in parameter '{name}'; legal range is '{DECIMAL_RE}'.",
            )
        return Decimal(value)

    def long(
        self, name: str, required: bool = False, lo: int = 0, hi: int = _MAX_LONG
    ) -> int | None:
        value = self.text(name, required)
        if value is None:
            return None
        if not _LONG.match(value):
            raise BinanceError(
                -1100,
                f"Illegal characters found in parameter '{name}'; legal range is "
                "'^-?[0-9]{1,19}$'.",
            )
        number = int(value)
        if not lo <= number <= hi:
            raise invalid(name)
        return number

    def choice(self, name: str, allowed: Iterable[str], code: int, msg: str) -> str | None:
        value = self.text(name)
        if value is not None and value not in allowed:
            raise BinanceError(code, msg)
        return value

    def limit(self, default: int, most: int) -> int:
        """Binance's limits: 1..``most`` (a larger one is cut to ``most``, as Binance does)."""
        value = self.long("limit", lo=1, hi=_MAX_LONG)
        return default if value is None else min(value, most)


def _without_signature(raw: str) -> str:
    if "signature=" not in raw:
        return raw
    return "&".join(p for p in raw.split("&") if not p.startswith("signature="))
