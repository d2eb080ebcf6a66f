"""The Lua scripts of the project (``pipeline/lua/*.lua``), loaded once, called by name.

Each file starts with a comment header that names its keys and arguments in order::

    -- KEYS: commands writes ...
    -- ARGV: payload reply_flag ...

and binds them to locals at the top (``local commands, writes = KEYS[1], KEYS[2]``) so the
body reads by name. Loading checks that the bindings follow the header, name for name.
``Script.eval(commands=..., payload=...)`` builds the EVAL command with every key and argument
in its declared place: a caller never counts positions, and a missing or unknown name is a
``TypeError`` before anything is sent.

EVAL carries the script's text rather than its digest: EVALSHA needs a SCRIPT LOAD (or a
NOSCRIPT retry) on every server and connection that has not seen it, and redis-py's
``Script`` object sends SCRIPT EXISTS first in a pipeline, a whole extra round trip per order.
Redis caches the compiled script by its digest, so the text costs a few hundred bytes: the
comment lines are left out of what is sent (the header is for readers; the submit's text is a
third of its file).
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

LUA_DIR = Path(__file__).with_name("lua")

_HEADER = re.compile(r"^-- (KEYS|ARGV):(.*)$", re.MULTILINE)
_BINDING = re.compile(r"^local ([\w, ]+?) = ((?:(?:KEYS|ARGV)\[\d+\](?:, )?)+)$", re.MULTILINE)
_SLOT = re.compile(r"(KEYS|ARGV)\[(\d+)\]")


@dataclasses.dataclass(frozen=True, slots=True)
class Script:
    name: str
    keys: tuple[str, ...]
    args: tuple[str, ...]
    text: str  # what EVAL sends: the file without its comment lines
    names: tuple[str, ...] = ()  # keys then arguments: the order EVAL takes them in
    _pick: Callable[[dict[str, Any]], tuple[Any, ...]] = dataclasses.field(
        default=tuple, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        names = (*self.keys, *self.args)
        object.__setattr__(self, "names", names)
        # The values in ``names``' order, in C: this runs on every order.
        object.__setattr__(self, "_pick", _picker(names))

    def eval(self, **named: Any) -> tuple[Any, ...]:
        """``("EVAL", text, numkeys, *keys, *args)`` from keyword arguments, one per name of
        the header (keys and arguments share one namespace)."""
        expected = self.names
        try:
            values = self._pick(named)
        except KeyError:
            values = ()
        if len(values) != len(named):
            missing = sorted(set(expected) - named.keys())
            unknown = sorted(named.keys() - set(expected))
            raise TypeError(f"script {self.name}: missing {missing}, unknown {unknown}")
        return ("EVAL", self.text, len(self.keys), *values)


def _picker(names: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    if len(names) > 1:
        return operator.itemgetter(*names)
    # itemgetter of one name gives the value, not a tuple (and of none, an error)
    return lambda named: tuple(named[name] for name in names)


def parse(name: str, text: str) -> Script:
    """A script from its text; ValueError if its header and its bindings disagree."""
    header = {kind: tuple(names.split()) for kind, names in _HEADER.findall(text)}
    if set(header) != {"KEYS", "ARGV"}:
        raise ValueError(f"{name}.lua: the header must name its KEYS and its ARGV")
    bound: dict[str, dict[int, str]] = {"KEYS": {}, "ARGV": {}}
    for names, slots in _BINDING.findall(text):
        locals_ = [part.strip() for part in names.split(",")]
        places = _SLOT.findall(slots)
        if len(locals_) != len(places):
            raise ValueError(f"{name}.lua: unbalanced binding of {names}")
        for local, (kind, index) in zip(locals_, places, strict=True):
            bound[kind][int(index)] = local
    for kind, names in header.items():
        found = tuple(bound[kind].get(i + 1) for i in range(len(bound[kind])))
        if found != names:
            raise ValueError(f"{name}.lua: {kind} bound as {found}, the header says {names}")
    if set(header["KEYS"]) & set(header["ARGV"]):
        raise ValueError(f"{name}.lua: a name is both a key and an argument")
    code = [line for line in text.splitlines() if line.strip() and not line.startswith("--")]
    return Script(name, header["KEYS"], header["ARGV"], "\n".join(code) + "\n")


def load_all(folder: Path = LUA_DIR) -> dict[str, Script]:
    return {path.stem: parse(path.stem, path.read_text()) for path in sorted(folder.glob("*.lua"))}


SCRIPTS = load_all()
SUBMIT = SCRIPTS["submit"]
