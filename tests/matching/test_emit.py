"""Every event builder of ``matching.emit`` takes its event's fields by keyword and places each
where the event has it. Read from the source, so it holds for the pure and the compiled build
alike (a compiled builder checks its arguments' types, and has no inspectable signature)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from matching import emit, emit_conditional, events

EVENT_TYPES = [
    cls
    for cls in vars(events).values()
    if isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields")
]


def _builders() -> dict[str, ast.FunctionDef]:
    builders: dict[str, ast.FunctionDef] = {}
    for name in ("emit.py", "emit_conditional.py"):  # the conditional orders' are apart
        tree = ast.parse(Path(events.__file__).with_name(name).read_text())
        builders.update(
            {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
        )
    return builders


def _name(cls: type) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


def test_every_event_type_has_a_builder():
    assert len(EVENT_TYPES) >= 16
    builders = _builders()
    for cls in EVENT_TYPES:
        assert _name(cls) in builders, cls.__name__
        assert callable(
            getattr(emit, _name(cls), None) or getattr(emit_conditional, _name(cls), None)
        )


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda cls: cls.__name__)
def test_a_builder_takes_the_events_fields_by_keyword_and_places_each_where_it_belongs(cls):
    fn = _builders()[_name(cls)]
    assert not fn.args.args and not fn.args.posonlyargs  # keyword-only
    assert [a.arg for a in fn.args.kwonlyargs] == list(cls._fields)
    (build,) = [
        node
        for node in ast.walk(fn)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_new"
    ]
    kind, fields = build.args
    assert isinstance(kind, ast.Name) and kind.id == cls.__name__
    assert isinstance(fields, ast.Tuple)
    assert [e.id for e in fields.elts if isinstance(e, ast.Name)] == list(cls._fields)


def test_the_end_builder_places_the_fields_both_end_records_share():
    from matching.events import OrderCancelled, OrderExpired

    assert OrderCancelled._fields == OrderExpired._fields
    fn = _builders()["order_ended"]
    assert [a.arg for a in fn.args.kwonlyargs] == list(OrderCancelled._fields)
    (build,) = [
        node
        for node in ast.walk(fn)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_new"
    ]
    kind, fields = build.args
    assert isinstance(kind, ast.Name) and kind.id == "kind"
    assert isinstance(fields, ast.Tuple)
    assert [e.id for e in fields.elts if isinstance(e, ast.Name)] == list(OrderCancelled._fields)
