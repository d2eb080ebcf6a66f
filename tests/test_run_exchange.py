"""run_exchange --reset-local-data: deletes VAR_DIR only after a yes (or --yes)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from exchange_site.management.commands.run_exchange import Command


@pytest.fixture
def var_dir(tmp_path: Path) -> Path:
    var = tmp_path / "var"
    (var / "redis").mkdir(parents=True)
    (var / "exchange.sqlite3").write_bytes(b"db")
    return var


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def reset(var_dir: Path, monkeypatch: pytest.MonkeyPatch, *, answer: str | None) -> str:
    out = io.StringIO()
    if answer is not None:
        monkeypatch.setattr(sys, "stdin", Terminal(answer + "\n"))
    Command(stdout=out).reset_local_data(var_dir, ask=answer is not None)
    return out.getvalue()


def test_the_local_state_is_deleted_when_the_user_says_yes(var_dir, monkeypatch):
    out = reset(var_dir, monkeypatch, answer="y")
    assert not var_dir.exists()
    assert "starting from an empty venue" in out


@pytest.mark.parametrize("answer", ["", "n", "no", "maybe"])
def test_nothing_is_deleted_when_the_user_does_not_say_yes(var_dir, monkeypatch, answer):
    with pytest.raises(CommandError, match="nothing was deleted"):
        reset(var_dir, monkeypatch, answer=answer)
    assert (var_dir / "exchange.sqlite3").exists()


def test_nothing_is_deleted_without_a_terminal_to_ask_at(var_dir, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # piped: not a confirmation
    with pytest.raises(CommandError, match="--yes"):
        Command(stdout=io.StringIO()).reset_local_data(var_dir, ask=True)
    assert var_dir.exists()


def test_yes_deletes_without_asking(var_dir, monkeypatch):
    reset(var_dir, monkeypatch, answer=None)
    assert not var_dir.exists()
