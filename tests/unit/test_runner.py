"""acx-dev supervision with dummy children (no embedded servers: both URLs are given)."""

from __future__ import annotations

import io
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from acx.config import Settings
from acx_dev._proc import is_alive
from acx_dev.runner import Child, main, run

DATABASE_URL = "postgresql://postgres@127.0.0.1:1/unused"
REDIS_URL = "redis://127.0.0.1:1/0"
URLS = {"database_url": DATABASE_URL, "redis_url": REDIS_URL}  # for the driver script


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sleeper(pidfile: Path, *, exit_code: int | None = None) -> list[str]:
    """A child that records its PID and environment, then sleeps (or exits with `exit_code`)."""
    tail = f"sys.exit({exit_code})" if exit_code is not None else "time.sleep(120)"
    code = (
        "import os, sys, time, pathlib\n"
        f"pathlib.Path({str(pidfile)!r}).write_text(f\"{{os.getpid()}} {{os.environ['DATABASE_URL']}}\")\n"
        f"{tail}\n"
    )
    return [sys.executable, "-c", code]


def _pid(pidfile: Path, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while not pidfile.exists() or not pidfile.read_text():
        assert time.monotonic() < deadline, f"{pidfile} never written"
        time.sleep(0.05)
    return int(pidfile.read_text().split()[0])


def test_a_dying_child_stops_the_others(tmp_path: Path) -> None:
    out = io.StringIO()
    children = [
        Child("gateway", _sleeper(tmp_path / "gateway")),
        Child("converter", _sleeper(tmp_path / "converter", exit_code=3)),
    ]
    rc = run(
        Settings(data_dir=tmp_path, database_url=DATABASE_URL, redis_url=REDIS_URL),
        children=children,
        ready=lambda _: False,
        out=out,
    )
    assert rc == 3
    assert "converter exited with code 3" in out.getvalue()
    assert not is_alive(_pid(tmp_path / "gateway"))
    # The children got the URLs in their environment.
    assert (tmp_path / "gateway").read_text().split()[1] == DATABASE_URL


def test_gateway_that_never_answers_is_an_error(tmp_path: Path) -> None:
    out = io.StringIO()
    children = [Child("gateway", _sleeper(tmp_path / "gateway"))]
    settings = Settings(data_dir=tmp_path, database_url=DATABASE_URL, redis_url=REDIS_URL)
    rc = run(settings, children=children, ready=lambda _: False, ready_timeout=0.5, out=out)
    assert rc == 1
    assert "did not answer" in out.getvalue()
    assert not is_alive(_pid(tmp_path / "gateway"))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_banner_then_signal_stops_everything(tmp_path: Path, sig: signal.Signals) -> None:
    port = _free_port()
    gateway = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    driver = (
        "import sys\n"
        "from acx.config import Settings\n"
        "from acx_dev.runner import Child, run\n"
        f"settings = Settings(port={port}, data_dir={str(tmp_path)!r}, **{URLS!r})\n"
        f"children = [Child('gateway', {gateway!r}), Child('converter', {_sleeper(tmp_path / 'worker')!r})]\n"
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
