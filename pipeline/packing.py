"""What travels through Redis, as bytes: msgpack of the engine's encoded commands, events and
book depths (``matching.codec`` gives the plain values; this module packs them).

msgpack integers stop at 64 bits; amounts in atoms of an 18-decimal asset do not. Such values
travel as an ext type holding their decimal digits. The common case pays nothing: the walk
happens only when packing overflowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgpack  # type: ignore[import-untyped]

from matching.codec import decode_command, decode_event, encode_command, encode_event
from matching.commands import Command
from matching.engine import Depth
from matching.events import Event

_BIGINT = 1


def _big_ints_to_ext(value: Any) -> Any:
    if type(value) is int and not -(2**63) <= value < 2**64:
        return msgpack.ExtType(_BIGINT, str(value).encode())
    if isinstance(value, list | tuple):
        return [_big_ints_to_ext(item) for item in value]
    if isinstance(value, dict):
        return {key: _big_ints_to_ext(item) for key, item in value.items()}
    return value


def _ext_hook(code: int, data: bytes) -> Any:
    if code == _BIGINT:
        return int(data)
    raise ValueError(f"unknown msgpack ext type {code}")


def packb(value: Any) -> bytes:
    try:
        packed: bytes = msgpack.packb(value, use_bin_type=True)
    except OverflowError:
        packed = msgpack.packb(_big_ints_to_ext(value), use_bin_type=True)
    return packed


def unpackb(payload: bytes) -> Any:
    return msgpack.unpackb(payload, raw=False, strict_map_key=False, ext_hook=_ext_hook)


def pack_command(cmd: Command) -> bytes:
    return packb(encode_command(cmd))


def unpack_command(payload: bytes) -> Command:
    """Decode one command from the wire; anything malformed raises ValueError."""
    try:
        raw = unpackb(payload)
    except Exception as exc:  # msgpack raises several unrelated types
        raise ValueError(f"undecodable command: {exc}") from exc
    return decode_command(raw)


def pack_events(events: Sequence[Event]) -> bytes:
    return packb([encode_event(ev) for ev in events])


def unpack_events(payload: bytes) -> list[Event]:
    return [decode_event(item) for item in unpackb(payload)]


def pack_depth(depth: Depth) -> bytes:
    return packb([depth.last_update_id, depth.bids, depth.asks])


def unpack_depth(symbol: str, payload: bytes) -> Depth:
    last_update_id, bids, asks = unpackb(payload)
    return Depth(symbol, last_update_id, [tuple(lv) for lv in bids], [tuple(lv) for lv in asks])
