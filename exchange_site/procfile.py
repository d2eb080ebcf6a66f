"""The run command's processes: the top-level ``Procfile``, run by honcho.

``processes()`` reads the Procfile and gives one ``matcher-<shard>`` per shard. ``Runner`` runs
them with honcho's manager, which starts every line at once in a process group of its own, prints
their output prefixed with their names, stops them all when one exits or on SIGINT/SIGTERM
(SIGTERM to each group, SIGKILL after ``stop_timeout``), and tells which of the two happened.

What we add to honcho, each a few lines (docs/architecture.md, "Processes"): SIGHUP stops
everything too (a closed terminal); the SIGKILL comes ``stop_timeout`` after the stop even when
no process has stopped; a stop in the first moments does not fail; every process group is
SIGTERMed when the run command dies (Linux PDEATHSIG), so even a SIGKILLed run command leaves
nothing behind; and whatever a process left in its group when it exited is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from honcho import manager as honcho_manager  # type: ignore[import-untyped]
from honcho.environ import parse_procfile  # type: ignore[import-untyped]
from honcho.printer import Printer  # type: ignore[import-untyped]
from honcho.process import Popen as HonchoPopen  # type: ignore[import-untyped]
from honcho.process import Process as HonchoProcess

PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"
PR_SET_PDEATHSIG = 1
# honcho's return codes after its own SIGINT (130) and SIGTERM (143) handlers, ours after SIGHUP.
STOP_SIGNAL_CODES = frozenset({130, 143, 129})


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    command: str  # a /bin/sh command line, as in the Procfile
    env: Mapping[str, str] = field(default_factory=dict)  # added to the run's environment


def processes(shards: Sequence[str], procfile: Path = PROCFILE) -> list[ProcessSpec]:
    """The Procfile's lines in order, its ``matcher`` line once per shard (SHARD set)."""
    lines = parse_procfile(procfile.read_text()).processes
    found: list[ProcessSpec] = []
    for name, command in lines.items():
        if name == "matcher":
            found += [ProcessSpec(f"matcher-{s}", command, {"SHARD": s}) for s in shards]
        else:
            found.append(ProcessSpec(name, command))
    return found


def command(name: str, procfile: Path = PROCFILE) -> tuple[str, ...]:
    """One Procfile line as an argv for a process started on its own (tests, benchmarks);
    its environment needs ``child_env``'s PATH."""
    return ("/bin/sh", "-c", parse_procfile(procfile.read_text()).processes[name])


def child_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with this interpreter's directory first on PATH: the Procfile's ``python``."""
    path = env.get("PATH", os.defpath)
    return {**env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{path}"}


def die_with_parent() -> None:
    """Runs in a child between fork and exec: SIGTERM it when its parent dies (Linux)."""
    _set_parent_death_signal(signal.SIGTERM)


def _set_parent_death_signal(signum: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signum)


class _Relay:
    """What honcho's relay for one line (a process it forks to read the line's output) does
    when the run command dies: SIGTERM the line's whole process group, not only its leader."""

    parent = 0
    child: subprocess.Popen[bytes] | None = None
    events: Any = None

    @classmethod
    def watch_parent(cls, events: Any) -> None:
        cls.parent, cls.events = os.getppid(), events
        signal.signal(signal.SIGHUP, cls.parent_died)
        _set_parent_death_signal(signal.SIGHUP)

    @classmethod
    def started(cls, child: subprocess.Popen[bytes]) -> None:
        cls.child = child
        if os.getppid() != cls.parent:  # died while the child was being started
            cls.parent_died(signal.SIGHUP, None)

    @classmethod
    def parent_died(cls, signum: int, frame: object) -> None:
        if cls.events is not None:
            cls.events.cancel_join_thread()  # nobody reads the queue any more
        if cls.child is not None:
            _signal_group(cls.child.pid, signal.SIGTERM)


class _Popen(HonchoPopen):
    def __init__(self, cmd: str, **kwargs: Any) -> None:
        super().__init__(cmd, preexec_fn=die_with_parent, **kwargs)
        _Relay.started(self)


class _Process(HonchoProcess):
    """honcho's relay for one line, which also stops the line's group when the run command
    dies, and kills what the line left in its group when it exits."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._child_ctor = _Popen

    def run(self, events: Any = None, ignore_signals: bool = False) -> None:
        _Relay.watch_parent(events)
        try:
            super().run(events, ignore_signals)
        finally:
            if self._child is not None:
                _signal_group(self._child.pid, signal.SIGKILL)


class _Manager(honcho_manager.Manager):
    def __init__(self, printer: Printer, stop_timeout: float) -> None:
        super().__init__(printer)
        self.stop_timeout = stop_timeout
        self._kill_timer: threading.Timer | None = None

    def terminate(self) -> None:
        # honcho starts its SIGKILL countdown when the first process has stopped, so one that
        # ignores SIGTERM while the others are already gone (or alone) is waited on forever.
        if not self._terminating:
            self._kill_timer = threading.Timer(self.stop_timeout, self.kill)
            self._kill_timer.daemon = True
            self._kill_timer.start()
        super().terminate()

    def _killall(self, force: bool = False) -> None:
        # honcho 2.0's, except for processes whose start it has not heard of yet: it looked up
        # their pid, which they lack, so a stop in the first moments raised a KeyError in the
        # signal handler and left everything running. Those get the SIGKILL after the timeout.
        signame = "SIGKILL" if force else "SIGTERM"
        for name, proc in self._processes.items():
            if "returncode" in proc or "pid" not in proc:
                continue
            self._system_print(f"sending {signame} to {name} (pid {proc['pid']})\n")
            (self._procmgr.kill if force else self._procmgr.terminate)(proc["pid"])

    def hang_up(self, signum: int, frame: object) -> None:
        """SIGHUP (a closed terminal) stops everything, as honcho's SIGINT and SIGTERM do."""
        self._system_print("SIGHUP received\n")
        self.returncode = 129
        self.terminate()


class Runner:
    """Run ``specs`` with honcho until one exits or a stop is asked for; see the module doc."""

    def __init__(
        self,
        specs: Sequence[ProcessSpec],
        *,
        env: Mapping[str, str],
        cwd: Path,
        out: TextIO = sys.stdout,
        stop_timeout: float = 10.0,
    ) -> None:
        self.manager = _Manager(Printer(out), stop_timeout)
        self.manager._process_ctor = _Process  # honcho's hook for the relay class
        for spec in specs:
            self.manager.add_process(
                spec.name, spec.command, env={**child_env(env), **spec.env}, cwd=str(cwd)
            )
        self.stop_timeout = stop_timeout
        self.stop_requested = False
        self.failed = False
        self.finished = threading.Event()  # set once every process has stopped

    def started(self) -> bool:
        """Whether honcho has heard of every process's start (a stop before then reaches a
        process yet unheard of only with the SIGKILL after the stop timeout)."""
        return all("pid" in proc for proc in self.manager._processes.values())

    def stop(self, *, failed: bool = False) -> None:
        """Stop every process (from any thread); ``failed``: the run failed."""
        self.failed = self.failed or failed
        self.stop_requested = True
        self.manager.terminate()

    def run(self, watch: Callable[[Runner], None] | None = None) -> int:
        """Block until every process has stopped: 0 after a stop signal, 1 when a process
        exited by itself or ``stop(failed=True)``. ``watch`` runs in a thread meanwhile."""

        saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        kill_wait = honcho_manager.KILL_WAIT
        honcho_manager.KILL_WAIT = self.stop_timeout  # honcho's SIGTERM-to-SIGKILL delay
        signal.signal(signal.SIGHUP, self.manager.hang_up)
        if watch is not None:
            threading.Thread(target=watch, args=(self,), daemon=True).start()
        try:
            self.manager.loop()
        finally:
            self.finished.set()
            if self.manager._kill_timer is not None:
                self.manager._kill_timer.cancel()
            honcho_manager.KILL_WAIT = kill_wait
            for signum, handler in saved.items():
                signal.signal(signum, handler)
        stopped = self.stop_requested or self.manager.returncode in STOP_SIGNAL_CODES
        return 0 if stopped and not self.failed else 1


def run_step(name: str, argv: Sequence[str], *, env: Mapping[str, str], cwd: Path) -> None:
    """Run a setup step to completion (in the run command's process group: a terminal's Ctrl-C
    reaches it too)."""
    code = subprocess.run(argv, env=env, cwd=cwd, check=False).returncode
    if code != 0:
        raise StepFailed(f"{name} failed with exit code {code}")


class StepFailed(RuntimeError):
    pass


def free_port(preferred: int, host: str = "127.0.0.1") -> int:
    """``preferred`` if nothing listens there, else any free port the kernel gives."""
    for candidate in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, candidate))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise OSError("no free port")


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)
