"""Shared plumbing of the long-running matching processes: logging and a clean stop."""

from __future__ import annotations

import logging
import signal
import threading


class StopFlag:
    """Set by SIGTERM or SIGINT; the loops check it between batches and finish the current one."""

    def __init__(self) -> None:
        self._event = threading.Event()
        signal.signal(signal.SIGTERM, self._set)
        signal.signal(signal.SIGINT, self._set)

    def _set(self, signum: int, _frame: object) -> None:
        logging.getLogger(__name__).info("signal %s: stopping after this batch", signum)
        self._event.set()

    def set(self) -> None:
        self._event.set()

    def __call__(self) -> bool:
        return self._event.is_set()


def setup_logging(verbosity: int) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbosity > 1 else logging.INFO,
        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s",
    )
