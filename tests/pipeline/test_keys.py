"""Redis key names: a shard's keys share one hash slot, so its batch can be one transaction."""

from __future__ import annotations

import re

from pipeline.keys import shard_keys


def _tag(key: str) -> str:
    found = re.search(r"\{([^}]*)\}", key)
    assert found is not None, key
    return found.group(1)


def test_every_key_of_a_shard_carries_the_shards_hash_tag() -> None:
    keys = shard_keys("s1")
    names = [
        keys.commands, keys.events, keys.snapshot, keys.progress, keys.persisted, keys.heartbeat,
        keys.reply("c1"), keys.depth("BTC_USDC"), keys.writes(7), keys.pending(7), keys.placed(7),
        keys.key_off("k1"), keys.user_off(7), keys.persist_now, keys.persister_halted,
    ]  # fmt: skip
    assert {_tag(name) for name in names} == {"s1"}
    assert len(set(names)) == len(names)
