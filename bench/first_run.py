"""A newcomer's first run, timed: from a fresh clone to a site that trades. Not a test.

Clones this checkout's HEAD into a temporary folder and runs its ``./scripts/run`` there (no
DATABASE_URL, no REDIS_URL: SQLite and the embedded Redis), then prints when each phase ended:
the install (the first ``[run]`` line), the health check answering 200, and the first order
placed and answered (a demo trader's limit buy). A new machine has no download cache, so by
default the installers' caches are off (``--cache`` keeps them). Then it stops the run command.

    python3 bench/first_run.py                  # uv, as scripts/run installs by default
    python3 bench/first_run.py --installer pip  # plain pip, for comparison

Needs only Python 3.11 and git; the machine probe (bench/machine.py) is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import machine

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(url: str, body: dict[str, object], auth: tuple[str, str] | None = None) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")  # noqa: S310
    request.add_header("Content-Type", "application/json")
    if auth is not None:
        import base64

        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 (loopback only)
        return dict(json.loads(resp.read()))


def signed_order(base: str, key: dict[str, str]) -> int:
    import hashlib
    import hmac

    body = json.dumps(
        {"symbol": "SOL_USDC", "side": "buy", "type": "limit", "price": "1", "quantity": "1"}
    ).encode()
    ts = str(int(time.time() * 1000))
    message = ts.encode() + b"POST/api/v1/order" + body
    signature = hmac.new(key["api_secret"].encode(), message, hashlib.sha256).hexdigest()
    request = urllib.request.Request(f"{base}/api/v1/order", data=body, method="POST")  # noqa: S310
    for name, value in (
        ("Content-Type", "application/json"),
        ("X-API-KEY", key["api_key"]),
        ("X-TIMESTAMP", ts),
        ("X-SIGNATURE", signature),
    ):
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--installer", choices=["uv", "pip"], default="uv")
    parser.add_argument("--cache", action="store_true", help="keep the installers' caches")
    args = parser.parse_args()

    print(f"machine probe: {machine.probe_ms():.0f} ms (bench/machine.py)")
    workdir = Path(tempfile.mkdtemp(prefix="first-run-"))
    clone = workdir / "exchange"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "VIRTUAL_ENV", "LOG_LEVEL")
    }
    env.update(PORT=str(port), WS_PORT=str(free_port()), INSTALLER=args.installer)
    if not args.cache:
        env.update(PIP_NO_CACHE_DIR="1", UV_NO_CACHE="1")
    base = f"http://127.0.0.1:{port}"
    marks: dict[str, float] = {}
    start = time.monotonic()
    proc = subprocess.Popen(
        ["./scripts/run"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def read_output() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(b"[run]") and "installed" not in marks:
                marks["installed"] = time.monotonic() - start

    threading.Thread(target=read_output, daemon=True).start()
    try:
        while "healthy" not in marks:
            if proc.poll() is not None:
                sys.exit(f"the run command exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"{base}/api/v1/health", timeout=2) as resp:  # noqa: S310
                    if resp.status == 200:
                        marks["healthy"] = time.monotonic() - start
            except OSError:
                time.sleep(0.2)
        key = post(
            f"{base}/api/v1/api-keys", {"label": "first run"}, ("alice", "demo-password-alice")
        )
        while (status := signed_order(base, key)) != 201:  # the demo deposits land first
            if time.monotonic() - start > 300:
                sys.exit(f"no order placed after 300 s (last status {status})")
            time.sleep(0.2)
        marks["traded"] = time.monotonic() - start
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    print(
        f"installer {args.installer}, caches {'on' if args.cache else 'off'}: "
        f"installed {marks['installed']:.1f} s, healthy {marks['healthy']:.1f} s, "
        f"first order placed {marks['traded']:.1f} s after ./scripts/run started"
    )
    print(f"clone left in {clone} (delete it when done)")


if __name__ == "__main__":
    main()
