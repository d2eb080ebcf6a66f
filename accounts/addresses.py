"""Withdrawal address formats, one per asset (``Asset.address_format``).

A check catches what a paste gets wrong (a truncated address, one of another chain, a typo)
before funds are held; it cannot prove that anybody controls the address. Written from the
specifications: bech32 and bech32m (BIP 173, BIP 350), base58check (Bitcoin's legacy P2PKH and
P2SH), base58 of 32 bytes (Solana), 0x and 40 hex digits (EVM; the EIP-55 mixed-case checksum
needs Keccak-256, which the standard library lacks, so mixed case is accepted unchecked).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from accounts.models import AddressFormat
from common.errors import ValidationFailed

_PRINTABLE = re.compile(r"[\x21-\x7e]{1,128}")
_EVM = re.compile(r"0x[0-9a-fA-F]{40}")
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58_ALPHABET)}
_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_CONST, _BECH32M_CONST = 1, 0x2BC830A3


def b58decode(text: str) -> bytes | None:
    """Base58 (Bitcoin's alphabet) to bytes; None if a character is not in the alphabet."""
    number = 0
    for char in text:
        digit = _B58_INDEX.get(char)
        if digit is None:
            return None
        number = number * 58 + digit
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    leading = len(text) - len(text.lstrip("1"))  # each leading "1" is a zero byte
    return b"\0" * leading + body


def _bech32_polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i, g in enumerate(generator):
            checksum ^= g if (top >> i) & 1 else 0
    return checksum


def _bech32_decode(address: str) -> tuple[str, list[int], int] | None:
    """(human-readable part, data without checksum, checksum constant) or None."""
    if address.lower() != address and address.upper() != address:
        return None  # mixed case is invalid
    address = address.lower()
    sep = address.rfind("1")
    if sep < 1 or sep + 7 > len(address) or len(address) > 90:
        return None
    hrp, rest = address[:sep], address[sep + 1 :]
    if any(ord(c) < 33 or ord(c) > 126 for c in hrp):
        return None
    data = [_BECH32_CHARSET.find(c) for c in rest]
    if -1 in data:
        return None
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    const = _bech32_polymod(expanded + data)
    if const not in (_BECH32_CONST, _BECH32M_CONST):
        return None
    return hrp, data[:-6], const


def _convert_bits(data: list[int], from_bits: int, to_bits: int) -> list[int] | None:
    """Regroup 5-bit words into bytes without padding (BIP 173's convertbits, pad=False)."""
    acc = bits = 0
    out = []
    maxv = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & maxv)
    if bits >= from_bits or (acc << (to_bits - bits)) & maxv:
        return None
    return out


def is_bitcoin_address(address: str) -> bool:
    """A mainnet segwit address (bc1..., v0 bech32, v1+ bech32m) or a legacy one (1... / 3...)."""
    if address[:3].lower() == "bc1":
        decoded = _bech32_decode(address)
        if decoded is None or decoded[0] != "bc" or not decoded[1]:
            return False
        _hrp, data, const = decoded
        version, program = data[0], _convert_bits(data[1:], 5, 8)
        if program is None or version > 16 or not 2 <= len(program) <= 40:
            return False
        if version == 0:
            return const == _BECH32_CONST and len(program) in (20, 32)
        return const == _BECH32M_CONST
    if address[:1] not in ("1", "3") or not 25 <= len(address) <= 35:
        return False
    raw = b58decode(address)
    if raw is None or len(raw) != 25 or raw[0] not in (0x00, 0x05):
        return False
    checksum = hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()[:4]
    return checksum == raw[-4:]


def is_solana_address(address: str) -> bool:
    if not 32 <= len(address) <= 44:
        return False
    raw = b58decode(address)
    return raw is not None and len(raw) == 32


def is_evm_address(address: str) -> bool:
    return _EVM.fullmatch(address) is not None


_CHECKS: dict[str, tuple[Callable[[str], bool], str]] = {
    AddressFormat.ANY: (lambda a: True, "printable characters without spaces"),
    AddressFormat.EVM: (is_evm_address, "0x followed by 40 hexadecimal digits"),
    AddressFormat.BITCOIN: (
        is_bitcoin_address,
        "a Bitcoin mainnet address (bc1..., 1... or 3...) with a valid checksum",
    ),
    AddressFormat.SOLANA: (is_solana_address, "a Solana address (base58 of 32 bytes)"),
}


def validate_address(address_format: str, address: str, *, asset: str) -> None:
    """Raise 400 ``invalid_address`` unless ``address`` has the asset's format."""
    check, expected = _CHECKS.get(address_format, _CHECKS[AddressFormat.ANY])
    if not (isinstance(address, str) and _PRINTABLE.fullmatch(address) and check(address)):
        raise ValidationFailed(
            f"This is not a valid {asset} address: expected {expected}.",
            code="invalid_address",
            details={"field": "address", "format": address_format},
        )
