"""One pass of a bench stream through a fresh engine, for counting instructions: prints what
it ran; the count comes from callgrind. Not a test.

    valgrind --tool=callgrind --toggle-collect='CPyPy_engine___MatchingEngine___apply' \\
        --callgrind-out-file=/tmp/cg.conditional .venv/bin/python bench/engine_instructions.py \\
        --stream conditional [--commands 200000] [--seed 1]
    callgrind_annotate --auto=no /tmp/cg.conditional | head    # "PROGRAM TOTALS"

Instruction counts do not move with the machine's load, which moves this machine's timings by
2-3x within minutes (docs/performance.md, issue 19's section). ``--toggle-collect`` counts
only inside the compiled ``MatchingEngine.apply`` (ENGINE_BUILD=pure has no such symbol):
the setup's 5,001 commands (deposits and the warm-up book, the same for both streams) and the
stream's. The stream is built by a child process (``bench/engine_streams.py`` applies every
command to a scratch engine, which must not be counted; callgrind does not follow children by
default) and handed over in a pickle file in the system's temp directory.
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine_streams import FEE_ACCOUNT, STREAMS, mixed_stream  # bench/ is on the path

from matching.build import build_note
from matching.engine import MatchingEngine


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stream", choices=STREAMS, default="plain")
    ap.add_argument("--commands", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--build-to", help=argparse.SUPPRESS)  # the child's part: build, pickle
    args = ap.parse_args()
    if args.build_to:
        with open(args.build_to, "wb") as out:
            pickle.dump(mixed_stream(args.commands, args.seed, args.stream)[:2], out)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stream.pickle"
        subprocess.run(
            [sys.executable, __file__, *sys.argv[1:], "--build-to", str(path)], check=True
        )
        setup, cmds = pickle.loads(path.read_bytes())  # noqa: S301  # our own child wrote it
    engine = MatchingEngine(FEE_ACCOUNT)
    apply = engine.apply
    for command in setup:
        apply(command)
    events = sum(len(apply(command)) for command in cmds)
    print(
        f"{build_note()}; stream {args.stream}: {len(setup):,} setup commands, then "
        f"{len(cmds):,} commands, {events:,} events"
    )


if __name__ == "__main__":
    main()
