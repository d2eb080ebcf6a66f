"""Wire form of commands and events: ``[type_name, field1, field2, ...]`` of primitives.

* Fields are in the record's declaration order (the contract in ``commands`` / ``events``).
* Enums travel as their str value, Decimals as str, ``AssetSpec`` as ``[code, decimals]``,
  ``MarketSpec`` as ``[symbol, base, quote, tick_size, lot_size, min_notional, maker_fee_rate,
  taker_fee_rate, status]``, tuples (book levels) as lists.
* Decoding restores enums, Decimals and tuples exactly, so ``decode(encode(x)) == x``.

``decode_command`` faces the network: any malformed input (wrong type name, arity, field type,
enum value, non-finite or absurd Decimal) raises ``ValueError`` and nothing else. Integers must
be real ``int`` (``bool`` is refused where an int is expected); value ranges are the engine's
business (it rejects with reason codes).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from enum import Enum
from itertools import product
from typing import Any, NamedTuple, get_type_hints

from matching.commands import COMMAND_TYPES, Command
from matching.errors import EndReason, RejectReason
from matching.events import EVENT_TYPES, Event
from matching.types import (
    AssetSpec,
    BalanceReason,
    MarketSpec,
    MarketStatus,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
)

_MAX_DECIMAL_CHARS = 64
_MAX_DECIMAL_EXPONENT = 60

Decoder = Callable[[Any], Any]
Encoder = Callable[[Any], Any]


def _bad(what: str, value: object) -> ValueError:
    return ValueError(f"expected {what}, got {type(value).__name__}: {value!r:.80}")


def _d_str(v: Any) -> str:
    if type(v) is not str:
        raise _bad("str", v)
    return v


def _d_int(v: Any) -> int:
    if type(v) is not int:
        raise _bad("int", v)
    return v


def _d_bool(v: Any) -> bool:
    if type(v) is not bool:
        raise _bad("bool", v)
    return v


def _d_opt_str(v: Any) -> str | None:
    if v is not None and type(v) is not str:
        raise _bad("str or null", v)
    return v


def _d_opt_int(v: Any) -> int | None:
    if v is not None and type(v) is not int:
        raise _bad("int or null", v)
    return v


def _enum_decoder(cls: type[Enum]) -> Decoder:
    members: dict[str, Any] = {m.value: m for m in cls}
    name = cls.__name__

    def decode(v: Any) -> Any:
        if type(v) is not str or v not in members:
            raise _bad(name, v)
        return members[v]

    return decode


def _optional(decode: Decoder) -> Decoder:
    def decode_optional(v: Any) -> Any:
        return None if v is None else decode(v)

    return decode_optional


def _d_decimal(v: Any) -> Decimal:
    if type(v) is not str or len(v) > _MAX_DECIMAL_CHARS:
        raise _bad("decimal string", v)
    try:
        d = Decimal(v)
    except (InvalidOperation, ValueError):
        raise _bad("decimal string", v) from None
    if not d.is_finite():
        raise _bad("finite decimal", v)
    exponent = d.as_tuple().exponent
    if not isinstance(exponent, int) or abs(exponent) > _MAX_DECIMAL_EXPONENT:
        raise _bad("decimal of sane magnitude", v)
    return d


def _d_asset(v: Any) -> AssetSpec:
    if type(v) is not list or len(v) != 2:
        raise _bad("[code, decimals]", v)
    return AssetSpec(_d_str(v[0]), _d_int(v[1]))


_d_status = _enum_decoder(MarketStatus)


def _d_spec(v: Any) -> MarketSpec:
    if type(v) is not list or len(v) != 9:
        raise _bad("market spec list of 9", v)
    return MarketSpec(
        _d_str(v[0]),
        _d_asset(v[1]),
        _d_asset(v[2]),
        _d_decimal(v[3]),
        _d_decimal(v[4]),
        _d_decimal(v[5]),
        _d_decimal(v[6]),
        _d_decimal(v[7]),
        _d_status(v[8]),
    )


def encode_spec(spec: MarketSpec) -> list[Any]:
    return [
        spec.symbol,
        [spec.base.code, spec.base.decimals],
        [spec.quote.code, spec.quote.decimals],
        str(spec.tick_size),
        str(spec.lot_size),
        str(spec.min_notional),
        str(spec.maker_fee_rate),
        str(spec.taker_fee_rate),
        spec.status.value,
    ]


decode_spec = _d_spec


def _d_levels(v: Any) -> tuple[tuple[int, int], ...]:
    if type(v) is not list:
        raise _bad("list of levels", v)
    out = []
    for lv in v:
        if type(lv) is not list or len(lv) != 2:
            raise _bad("[price, lots]", lv)
        out.append((_d_int(lv[0]), _d_int(lv[1])))
    return tuple(out)


Totals = tuple[tuple[str, int, int, int, int], ...]


def _d_totals(v: Any) -> Totals:
    if type(v) is not list:
        raise _bad("list of totals", v)
    out = []
    for row in v:
        if type(row) is not list or len(row) != 5:
            raise _bad("[asset, available, locked, deposited, withdrawn]", row)
        out.append((_d_str(row[0]), _d_int(row[1]), _d_int(row[2]), _d_int(row[3]), _d_int(row[4])))
    return tuple(out)


def _e_totals(v: Any) -> Any:
    return [list(row) for row in v]


def _e_same(v: Any) -> Any:
    return v


_plain_str = str.__str__  # a StrEnum member -> its value as an exact str (faster than .value)


def _e_enum(v: Any) -> Any:
    return _plain_str(v)


def _e_opt_enum(v: Any) -> Any:
    return None if v is None else _plain_str(v)


def _e_levels(v: Any) -> Any:
    return [[p, t] for p, t in v]


_NONE = type(None)


class _Kind(NamedTuple):
    """How one field type travels: its encoder, the wire types it may arrive as, its decoder
    (which checks those types and more), and what turns a wire value of one of those types
    into the field's value (None: it already is)."""

    encode: Encoder
    wire_types: tuple[type, ...]
    decode: Decoder
    convert: Decoder | None


# field type -> how it travels
_KINDS: dict[object, _Kind] = {
    str: _Kind(_e_same, (str,), _d_str, None),
    int: _Kind(_e_same, (int,), _d_int, None),
    bool: _Kind(_e_same, (bool,), _d_bool, None),
    str | None: _Kind(_e_same, (str, _NONE), _d_opt_str, None),
    int | None: _Kind(_e_same, (int, _NONE), _d_opt_int, None),
    MarketSpec: _Kind(encode_spec, (list,), _d_spec, _d_spec),
    tuple[tuple[int, int], ...]: _Kind(_e_levels, (list,), _d_levels, _d_levels),
    Totals: _Kind(_e_totals, (list,), _d_totals, _d_totals),
}
for _enum in (
    Side,
    OrderType,
    TimeInForce,
    StpMode,
    MarketStatus,
    BalanceReason,
    RejectReason,
    EndReason,
):
    # An enum's value is looked up among its members (KeyError: no such member); the
    # optional one's members include None.
    _members: dict[str | None, Any] = {m.value: m for m in _enum}
    _decoder = _enum_decoder(_enum)
    _KINDS[_enum] = _Kind(_e_enum, (str,), _decoder, _members.__getitem__)
    _KINDS[_enum | None] = _Kind(
        _e_opt_enum, (str, _NONE), _optional(_decoder), {**_members, None: None}.__getitem__
    )

Conversions = tuple[tuple[int, Decoder], ...]


class _Schema:
    """One record type's wire form, built from its class's field types.

    ``logged``: the record's trailing fields with a default may be absent (a command logged
    before they were added); otherwise every field must be there.
    """

    __slots__ = ("arity", "cls", "decoders", "encoders", "fewest", "name", "shapes")

    def __init__(self, name: str, cls: type, *, logged: bool) -> None:
        hints = get_type_hints(cls)
        fields: tuple[str, ...] = cls._fields  # type: ignore[attr-defined]
        defaults: dict[str, Any] = cls._field_defaults  # type: ignore[attr-defined]
        kinds = [_KINDS[hints[f]] for f in fields]
        self.name = name
        self.cls = cls
        self.encoders = tuple(k.encode for k in kinds)
        self.decoders = tuple(k.decode for k in kinds)
        self.arity = len(kinds)
        self.fewest = self.arity - (len(defaults) if logged else 0)
        self.shapes: dict[tuple[type, ...], Conversions] = {}
        """Every accepted tuple of wire field types -> the fields (index, conversion) that need
        more than that type check: enum values, specs, book levels, totals."""
        for given in range(self.fewest, self.arity + 1):
            conversions = tuple(
                (i, k.convert) for i, k in enumerate(kinds[:given]) if k.convert is not None
            )
            for shape in product(*(k.wire_types for k in kinds[:given])):
                self.shapes[shape] = conversions


_COMMAND_SCHEMAS = {name: _Schema(name, cls, logged=True) for name, cls in COMMAND_TYPES.items()}
_EVENT_SCHEMAS = {name: _Schema(name, cls, logged=False) for name, cls in EVENT_TYPES.items()}
EncodePlan = tuple[str, int, tuple[tuple[int, Encoder], ...]]


def _plan(schema: _Schema) -> EncodePlan:
    """(type name, arity, [(wire index, encoder)] for the fields that are not primitives)."""
    fixups = tuple((i + 1, enc) for i, enc in enumerate(schema.encoders) if enc is not _e_same)
    return schema.name, len(schema.encoders), fixups


_COMMAND_ENCODERS = {schema.cls: _plan(schema) for schema in _COMMAND_SCHEMAS.values()}
_EVENT_ENCODERS = {schema.cls: _plan(schema) for schema in _EVENT_SCHEMAS.values()}


def _encode(record: Any, table: dict[type, EncodePlan]) -> list[Any]:
    plan = table.get(type(record))
    if plan is None:
        raise ValueError(f"not a known record: {type(record).__name__}")
    name, arity, fixups = plan
    if len(record) != arity:
        raise ValueError(f"{name} has {len(record)} fields, expected {arity}")
    out: list[Any] = [name, *record]
    for i, enc in fixups:
        out[i] = enc(out[i])
    return out


def encode_command(cmd: Command) -> list[Any]:
    return _encode(cmd, _COMMAND_ENCODERS)


def encode_event(ev: Event) -> list[Any]:
    return _encode(ev, _EVENT_ENCODERS)


def _decode(data: Any, schemas: dict[str, _Schema]) -> Any:
    """The decoder. The wire types of all fields are checked at once, as one tuple looked up
    among the schema's accepted ones (the persister and the publisher decode every event, about
    ten per order); then only the fields that need it are converted. Whatever that refuses,
    :func:`_decode_each` decodes again field by field, to say what is wrong."""
    if type(data) is list and data:
        schema = schemas.get(data[0]) if type(data[0]) is str else None
        if schema is not None:
            fields = data[1:]
            conversions = schema.shapes.get(tuple(map(type, fields)))
            if conversions is not None:
                try:
                    for i, convert in conversions:
                        fields[i] = convert(fields[i])
                except KeyError:  # an enum value that is no member: the precise error below
                    pass
                else:
                    if len(fields) == schema.arity:  # all there and checked: a record as is
                        return tuple.__new__(schema.cls, fields)
                    return schema.cls(*fields)  # logged before its newer fields: defaults
    return _decode_each(data, schemas)


def _decode_each(data: Any, schemas: dict[str, _Schema]) -> Any:
    """Decode field by field, each with its own decoder: the same acceptance as
    :func:`_decode`, and the error names the field's problem."""
    if type(data) is not list or not data or type(data[0]) is not str:
        raise ValueError("expected [type_name, fields...]")
    schema = schemas.get(data[0])
    if schema is None:
        raise ValueError(f"unknown type {data[0]!r:.40}")
    fields = data[1:]
    decoders = schema.decoders
    if not schema.fewest <= len(fields) <= len(decoders):
        raise ValueError(f"{schema.name} needs {len(decoders)} fields, got {len(fields)}")
    return schema.cls(*[decode(v) for decode, v in zip(decoders, fields, strict=False)])


def decode_command(data: Any) -> Command:
    """Decode a wire command; raises ``ValueError`` (only) on any malformed input."""
    try:
        cmd: Command = _decode(data, _COMMAND_SCHEMAS)
        return cmd
    except ValueError:
        raise
    except Exception as e:  # network input: never let another exception type escape
        raise ValueError(f"malformed command: {type(e).__name__}") from None


def decode_event(data: Any) -> Event:
    """Decode a wire event; raises ``ValueError`` on malformed input."""
    try:
        ev: Event = _decode(data, _EVENT_SCHEMAS)
        return ev
    except ValueError:
        raise
    except Exception as e:
        raise ValueError(f"malformed event: {type(e).__name__}") from None


def _generic_event(data: Any) -> Event:
    """An event decoded field by field (what :func:`decode_event` does when its type check
    refuses); the codec tests hold the two to the same answers."""
    ev: Event = _decode_each(data, _EVENT_SCHEMAS)
    return ev
