"""The persister's SQL helpers on this database; ``sqlite``-marked, so also run on SQLite (the
zero-config database) by scripts/test, where they take their other branch."""

from __future__ import annotations

import pytest
from django.db import connection

from common import bulk
from common.clock import ns_to_datetime
from trading.models import EventCheckpoint

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def test_insert_rows_writes_every_row_when_there_are_more_than_one_statement_holds() -> None:
    # given more rows than one statement may bind on SQLite (999 variables: 249 rows of 4)
    names = ("stream", "last_seq", "last_cmd_id", "updated_at")
    when = bulk.time_text(1_700_000_000_123_456_789)
    rows = [(f"s{n}", n, f"{n}-0", when) for n in range(1_000)]

    # when they are inserted
    bulk.insert_rows(EventCheckpoint, names, rows)

    # then every one is there, with its time read back as written (to the microsecond)
    assert EventCheckpoint.objects.filter(stream__startswith="s").count() == 1_000
    row = EventCheckpoint.objects.get(stream="s999")
    assert (row.last_seq, row.last_cmd_id) == (999, "999-0")
    assert row.updated_at == ns_to_datetime(1_700_000_000_123_456_789)


def test_update_rows_sets_each_row_its_own_values() -> None:
    names = ("stream", "last_seq", "last_cmd_id", "updated_at")
    when = bulk.time_text(1_700_000_000_000_000_000)
    bulk.insert_rows(EventCheckpoint, names, [(f"u{n}", 0, "0-0", when) for n in range(3)])

    bulk.update_rows(
        EventCheckpoint,
        "stream",
        ("last_seq", "last_cmd_id"),
        [("u0", 10, "10-0"), ("u2", 12, "12-0")],
    )

    got = dict(
        EventCheckpoint.objects.filter(stream__startswith="u").values_list("stream", "last_seq")
    )
    assert got == {"u0": 10, "u1": 0, "u2": 12}


def test_the_statement_size_follows_the_database() -> None:
    expected = 30_000 if connection.vendor == "postgresql" else 999
    assert bulk._max_variables() == expected
