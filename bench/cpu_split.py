"""CPU time of every process on this machine, summed by role, between two instants.

The e2e benchmark runs on the same cores as the stack it measures; this is how it says where
an order's CPU went (gunicorn, matcher, persister, PostgreSQL, ...). Linux ``/proc`` only:
user + system ticks of each process alive at both instants (a process that started or ended
in between is left out, which is why the samples are taken in the middle of a phase).
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK")

# The first pattern found in a process's command line names its role.
ROLES = (
    ("gunicorn", "gunicorn"),
    ("granian", "granian"),
    ("run_matcher", "matcher"),
    ("run_persister", "persister"),
    ("run_publisher", "publisher"),
    ("uvicorn", "uvicorn"),
    ("celery", "celery"),
    ("redis-server", "redis"),
    ("postgres", "postgres"),
    ("e2e_orders", "load generator"),
)


def role(cmdline: str) -> str | None:
    for pattern, name in ROLES:
        if pattern in cmdline:
            return name
    return None


def sample() -> dict[int, tuple[str, int]]:
    """pid -> (role, user + system ticks) of every process with a known role."""
    out: dict[int, tuple[str, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        name = role(cmdline)
        if name is None:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        out[int(entry.name)] = (name, int(fields[11]) + int(fields[12]))
    return out


def split(
    before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]]
) -> dict[str, float]:
    """CPU seconds per role between two samples."""
    seconds: dict[str, float] = {}
    for pid, (name, ticks) in after.items():
        if pid in before:
            used = (ticks - before[pid][1]) / TICKS_PER_S
            seconds[name] = seconds.get(name, 0.0) + used
    return seconds


def cpu_ticks() -> tuple[int, int, int]:
    """(idle, stolen, total) ticks of all CPUs so far, from /proc/stat."""
    # user nice system idle iowait irq softirq steal ...
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], fields[7], sum(fields)


def report(seconds: dict[str, float], requests: float) -> str:
    """One line per role: ms of CPU per request, and its share."""
    total = sum(seconds.values()) or 1.0
    lines = []
    for name, used in sorted(seconds.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {name:<15} {used / requests * 1000:6.3f} ms  {used / total * 100:4.0f} %")
    lines.append(f"  {'total':<15} {total / requests * 1000:6.3f} ms")
    return "\n".join(lines)
