"""The Redis wire format carries every value exactly, including amounts beyond 64 bits."""

from __future__ import annotations

from matching.commands import Deposit
from matching.events import BalanceChanged
from matching.types import BalanceReason
from pipeline.packing import pack_command, pack_events, unpack_command, unpack_events


def test_a_deposit_larger_than_64_bits_survives_the_wire_when_the_asset_has_18_decimals() -> None:
    # 1,000,000 ETH in wei is 10**24 atoms
    cmd = Deposit("c1", 1, "t1", 7, "ETH", 10**24)
    assert unpack_command(pack_command(cmd)) == cmd


def test_events_with_huge_balances_survive_the_wire() -> None:
    ev = BalanceChanged(
        5, "c1", 1, 7, "ETH", 10**24, 2**70, 10**24, -(2**65), BalanceReason.DEPOSIT, "x:t1"
    )
    assert unpack_events(pack_events([ev])) == [ev]


def test_ordinary_values_take_the_fast_path_and_round_trip() -> None:
    cmd = Deposit("c2", 2, "t2", 7, "USDC", 10**12)
    assert unpack_command(pack_command(cmd)) == cmd
