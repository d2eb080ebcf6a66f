"""Logging filters for the servers the run command starts (their own log configs name them)."""

from __future__ import annotations

import logging


class DropMessages(logging.Filter):
    """Drops records whose message contains ``containing``: one known line, nothing else."""

    def __init__(self, containing: str) -> None:
        super().__init__()
        self.containing = containing

    def filter(self, record: logging.LogRecord) -> bool:
        return self.containing not in record.getMessage()
