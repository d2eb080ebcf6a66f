"""bench/engine_bench.py's comparison mode, on a short stream: each build runs in each round
with both streams side by side, each child loads the build it is told to, the conditional
stream triggers orders, and the ratios issue 19 sets targets on are printed (docs/performance.md
quotes them). The figures themselves are measured by hand, not here."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_comparison_runs_each_build_on_each_stream_in_rounds_and_prints_the_ratios() -> None:
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "engine_bench.py"),
            "--commands",
            "3000",
            "--skip-memory",
            "--builds",
            "pure,compiled",
            "--rounds",
            "2",
            "--passes",
            "2",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    children = re.findall(r"^=== ENGINE_BUILD=(\w+) --stream ([\w,]+)$", out, re.MULTILINE)
    both = "plain,conditional"
    assert children == [("pure", both), ("compiled", both)] * 2
    assert out.count("engine: pure Python (ENGINE_BUILD=pure)") == 2
    assert out.count("engine: compiled with mypyc") == 2, "is the build current? (scripts/test)"
    assert out.count("the best of 2 passes") == 8  # 2 streams x 2 builds x 2 rounds
    assert out.count("side by side: conditional vs plain, CPU ") == 4
    # the first round times each command of both streams, the others do not
    assert out.count("latency per command, conditional stream") == 2
    assert re.search(r"^  \(that triggered\) .* \d+ ", out, re.MULTILINE), "nothing triggered"
    apart = r"(\d+\.\d\d)x of the best runs; median of the rounds (\d+\.\d\d)x \(rounds: "
    for stream in ("plain", "conditional"):
        line = f"{stream} stream: compiled vs pure, less CPU per command: "
        found = re.search(re.escape(line) + apart, out)
        assert found, f"missing: {line}"
        assert all(float(figure) > 0 for figure in found.groups())
    side = r"median (\d+\.\d\d)x, range (\d+\.\d\d)-(\d+\.\d\d)x over 2 rounds"
    for build in ("pure", "compiled"):
        line = f"{build} build: conditional stream vs plain, CPU per command, side by side: "
        found = re.search(re.escape(line) + side, out)
        assert found, f"missing: {line}"
        median, low, high = map(float, found.groups())
        assert 0 < low <= median <= high
