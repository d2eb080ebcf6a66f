"""The Lua loader: scripts called by name, their headers and bindings held together."""

from __future__ import annotations

import pytest

from pipeline.scripts import SCRIPTS, SUBMIT, parse

GOOD = """-- KEYS: counter log
-- ARGV: by
local counter, log = KEYS[1], KEYS[2]
local by = ARGV[1]
return redis.call('INCRBY', counter, by)
"""


def test_a_script_is_called_with_its_keys_and_arguments_in_their_declared_places() -> None:
    script = parse("count", GOOD)
    code = "\n".join(GOOD.splitlines()[2:]) + "\n"  # the header is not sent
    assert script.eval(by=3, log="l", counter="c") == ("EVAL", code, 2, "c", "l", 3)


def test_a_missing_or_unknown_name_is_refused_before_anything_is_sent() -> None:
    script = parse("count", GOOD)
    with pytest.raises(TypeError, match=r"missing \['by'\], unknown \['step'\]"):
        script.eval(counter="c", log="l", step=1)


def test_a_binding_that_disagrees_with_the_header_is_refused_at_load() -> None:
    swapped = GOOD.replace(
        "local counter, log = KEYS[1], KEYS[2]", "local log, counter = KEYS[1], KEYS[2]"
    )
    with pytest.raises(ValueError, match="KEYS bound as"):
        parse("count", swapped)


def test_a_script_without_a_header_is_refused_at_load() -> None:
    with pytest.raises(ValueError, match="header"):
        parse("bare", "return 1\n")


def test_every_script_file_loads_and_the_submit_names_its_eight_keys() -> None:
    assert "submit" in SCRIPTS
    assert SUBMIT.keys == (
        "commands", "writes", "pending", "rate_counter", "reply", "placed", "key_off", "user_off",
    )  # fmt: skip
    assert len(SUBMIT.args) == 8


def test_a_script_of_one_name_is_called_with_it() -> None:
    script = parse("one", "-- KEYS: counter\n-- ARGV:\nlocal counter = KEYS[1]\nreturn 1\n")
    assert script.eval(counter="c") == ("EVAL", "local counter = KEYS[1]\nreturn 1\n", 1, "c")
