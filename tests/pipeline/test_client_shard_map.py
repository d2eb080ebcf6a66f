"""MATCHER_SHARDS parsing and routing."""

from __future__ import annotations

import pytest

from pipeline.client import ShardMap


def test_every_market_goes_to_the_default_shard_when_one_shard_takes_all() -> None:
    shards = ShardMap.parse("s0=*")
    assert shards.shards == ("s0",)
    assert shards.for_market("ANY_THING") == "s0"
    assert shards.funding == "s0"


def test_named_markets_go_to_their_shard_and_the_rest_to_the_default() -> None:
    shards = ShardMap.parse("s0=SOL_USDC,*; s1=ETH_USDC")
    assert shards.for_market("ETH_USDC") == "s1"
    assert shards.for_market("SOL_USDC") == "s0"
    assert shards.for_market("BTC_USDC") == "s0"
    assert shards.owns("s1", "ETH_USDC") and not shards.owns("s0", "ETH_USDC")


def test_an_unowned_market_is_an_error_when_no_shard_takes_the_rest() -> None:
    shards = ShardMap.parse("s0=SOL_USDC;s1=ETH_USDC")
    with pytest.raises(LookupError):
        shards.for_market("BTC_USDC")


@pytest.mark.parametrize("text", ["", ";", "s0=A_B;s0=C_D", "s0=A_B;s1=A_B", "=A_B"])
def test_a_bad_shard_spec_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        ShardMap.parse(text)


def test_more_than_ten_shards_are_refused_because_balances_sum_over_them():
    ShardMap.parse(";".join(f"s{i}=M{i}_USDC" for i in range(10)))
    with pytest.raises(ValueError, match="more than 10"):
        ShardMap.parse(";".join(f"s{i}=M{i}_USDC" for i in range(11)))
