"""acx-dev preflight and supervision with dummy children (no embedded servers: both URLs are given)."""

from __future__ import annotations

import io
import json
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from acx.config import Settings
from acx_dev import preflight
from acx_dev._proc import is_alive
from acx_dev.runner import MAX_RESTARTS_PER_MINUTE, Child, gateway_ready, main, run

DATABASE_URL = "postgresql://postgres@127.0.0.1:1/unused"
REDIS_URL = "redis://127.0.0.1:1/0"
URLS = {"database_url": DATABASE_URL, "redis_url": REDIS_URL}  # for the driver script


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sleeper(pidfile: Path, *, exit_code: int | None = None, after: float = 0.0) -> list[str]:
    """A child that records its PID and environment (JSON), then sleeps (or exits with `exit_code`
    after `after` seconds). Each run appends a line to `<pidfile>.runs`."""
    tail = f"time.sleep({after}); sys.exit({exit_code})" if exit_code is not None else "time.sleep(120)"
    code = (
        "import json, os, sys, time, pathlib\n"
        f"path = pathlib.Path({str(pidfile)!r})\n"
        "path.write_text(json.dumps({'pid': os.getpid(), 'env': dict(os.environ)}))\n"
        "with open(f'{path}.runs', 'a') as runs: runs.write('run\\n')\n"
        f"{tail}\n"
    )
    return [sys.executable, "-c", code]


def _record(pidfile: Path, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            record: dict[str, Any] = json.loads(pidfile.read_text())
        except (OSError, ValueError):
            assert time.monotonic() < deadline, f"{pidfile} never written"
            time.sleep(0.05)
        else:
            return record


def _pid(pidfile: Path) -> int:
    return int(_record(pidfile)["pid"])


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(
        data_dir=tmp_path / "data", port=_free_port(), database_url=DATABASE_URL, redis_url=REDIS_URL, **overrides
    )


def _never_ready(pid: int, env: Mapping[str, str]) -> bool:
    return False


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_child_dying_before_ready_stops_the_others(tmp_path: Path) -> None:
    out = io.StringIO()
    children = [
        Child("gateway", _sleeper(tmp_path / "gateway"), ready=_never_ready),
        Child("converter", _sleeper(tmp_path / "converter", exit_code=3), ready=_never_ready),
    ]
    rc = run(_settings(tmp_path), children=children, environ={}, out=out)
    assert rc == 3
    assert "converter exited with code 3; stopping" in out.getvalue()
    assert "ready" not in out.getvalue()
    assert not is_alive(_pid(tmp_path / "gateway"))
    # The children got the URLs in their environment.
    assert _record(tmp_path / "gateway")["env"]["DATABASE_URL"] == DATABASE_URL


def test_a_child_exiting_after_ready_is_restarted_until_it_keeps_failing(tmp_path: Path) -> None:
    out = io.StringIO()
    children = [Child("converter", _sleeper(tmp_path / "converter", exit_code=3, after=0.3))]
    rc = run(_settings(tmp_path), children=children, environ={}, out=out)
    lines = out.getvalue().splitlines()
    assert rc == 3
    assert lines.index("acx-dev:        press Ctrl-C to stop") < lines.index(
        "acx-dev: converter exited with code 3; restarting it"
    )
    assert lines.count("acx-dev: converter exited with code 3; restarting it") == MAX_RESTARTS_PER_MINUTE
    times = MAX_RESTARTS_PER_MINUTE + 1
    assert lines[-1] == f"acx-dev: error: converter exited with code 3 ({times} times within a minute); stopping"
    assert (tmp_path / "converter.runs").read_text().count("run") == MAX_RESTARTS_PER_MINUTE + 1


def test_a_child_never_ready_is_an_error(tmp_path: Path) -> None:
    out = io.StringIO()
    children = [Child("gateway", _sleeper(tmp_path / "gateway"), ready=_never_ready, waiting_for="the gateway")]
    rc = run(_settings(tmp_path), children=children, environ={}, ready_timeout=0.5, out=out)
    assert rc == 1
    assert "error: gave up after 0s waiting for the gateway" in out.getvalue()
    assert not is_alive(_pid(tmp_path / "gateway"))


@pytest.mark.parametrize("variable", ["PORT", "WORKER_METRICS_PORT"])
def test_a_taken_port_is_one_line_before_anything_starts(tmp_path: Path, held_port: int, variable: str) -> None:
    out = io.StringIO()
    if variable == "PORT":
        settings, environ = _settings(tmp_path).__replace__(port=held_port), {}
    else:
        settings = _settings(tmp_path, worker_metrics_port=held_port)
        environ = {"WORKER_METRICS_PORT": str(held_port)}
    rc = run(settings, children=[Child("gateway", _sleeper(tmp_path / "gateway"))], environ=environ, out=out)
    assert rc == 1
    assert out.getvalue().count("\n") == 1, out.getvalue()
    assert out.getvalue().startswith(f"acx-dev: error: port {held_port} on 127.0.0.1 is already in use")
    assert f"set {variable} to a free port" in out.getvalue()
    assert not (tmp_path / "gateway").exists(), "a child was started"
    assert not (tmp_path / "data").exists(), "something was created before the check"


def test_children_get_a_free_metrics_port_and_a_kept_pepper(
    tmp_path: Path, held_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preflight, "DEFAULT_METRICS_PORT", held_port)  # as if 9191 were taken
    settings = _settings(tmp_path)
    peppers = []
    for attempt in range(2):
        out = io.StringIO()
        children = [Child("converter", _sleeper(tmp_path / f"converter{attempt}", exit_code=0), ready=_never_ready)]
        assert run(settings, children=children, environ={}, out=out) == 1  # exit 0 before ready: still fatal
        env = _record(tmp_path / f"converter{attempt}")["env"]
        assert int(env["WORKER_METRICS_PORT"]) not in (0, held_port)
        peppers.append(env["SECRET_PEPPER"])
        assert ("SECRET_PEPPER is unset: made a random one" in out.getvalue()) == (attempt == 0)
    pepper_file = tmp_path / "data" / "secret_pepper"
    assert peppers[0] == peppers[1] == pepper_file.read_text().strip()
    assert len(peppers[0]) >= 32
    assert stat.S_IMODE(pepper_file.stat().st_mode) == 0o600


def test_a_given_pepper_and_metrics_port_are_passed_through(tmp_path: Path) -> None:
    port = _free_port()
    settings = _settings(tmp_path, worker_metrics_port=port)
    environ = {"SECRET_PEPPER": "operator-chosen-pepper", "WORKER_METRICS_PORT": str(port)}
    children = [Child("converter", _sleeper(tmp_path / "converter", exit_code=0), ready=_never_ready)]
    run(settings, children=children, environ=environ, out=io.StringIO())
    env = _record(tmp_path / "converter")["env"]
    assert env["SECRET_PEPPER"] == "operator-chosen-pepper"
    assert env["WORKER_METRICS_PORT"] == str(port)
    assert not (tmp_path / "data" / "secret_pepper").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_banner_then_signal_stops_everything(tmp_path: Path, sig: signal.Signals) -> None:
    port = _free_port()
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "readyz").write_text("ok")  # what the runner polls
    gateway = [
        sys.executable,
        "-m",
        "http.server",
        str(port),
        "--bind",
        "127.0.0.1",
        "--directory",
        str(tmp_path / "www"),
    ]
    driver = (
        "import sys\n"
        "from acx.config import Settings\n"
        "from acx_dev.runner import Child, default_children, run\n"
        f"settings = Settings(port={port}, data_dir={str(tmp_path)!r}, **{URLS!r})\n"
        "ready = default_children(settings)[0].ready\n"
        f"children = [Child('gateway', {gateway!r}, ready), Child('converter', {_sleeper(tmp_path / 'worker')!r})]\n"
        "sys.exit(run(settings, children=children))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", driver], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert proc.stdout is not None
    with proc.stdout:
        banner = ""
        while "press Ctrl-C" not in banner:  # children share stdout: skip their lines
            line = proc.stdout.readline()
            assert line, f"acx-dev exited early with {proc.wait()}"
            banner += line if line.startswith("acx-dev:") else ""
        assert f"base URL http://localhost:{port}/api/v1" in banner
        assert "API key  sk-ac-your-root-api-bearer-token" in banner
        worker_pid = _pid(tmp_path / "worker")
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0
        assert f"{sig.name} received; stopping" in proc.stdout.read()
    assert not is_alive(worker_pid)
    with pytest.raises(ConnectionRefusedError):  # nobody listens any more: the gateway is gone too
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_config_error_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PORT", "not-a-port")
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("acx-dev: ")
    assert "PORT" in err
    assert err.count("\n") == 1


def test_gateway_is_ready_only_when_readyz_answers_200(tmp_path: Path) -> None:
    port = _free_port()
    settings = _settings(tmp_path).__replace__(port=port)
    assert not gateway_ready(settings)  # nothing listens
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while not _answers(port):
            assert time.monotonic() < deadline, "http.server never listened"
            time.sleep(0.05)
        assert not gateway_ready(settings)  # answers, but 404: not ready
        (tmp_path / "readyz").write_text("ok")
        assert gateway_ready(settings)
    finally:
        server.terminate()
        server.wait()


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True
