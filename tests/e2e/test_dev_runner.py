"""`make run` as a user meets it: the real `acx-dev` runner with embedded servers, as subprocesses.

Another program holds the converter's default metrics port (9191) and two runners share the
machine with only PORT and DATA_DIR changed: both reach ready, stay up, convert what they store,
listen only on HOST, and stop cleanly. A taken PORT is one line before anything starts.
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.integration._processes import accepts_connections, free_port
from tests.integration.conftest import repo_root

ROOT_KEY = "sk-ac-your-root-api-bearer-token"
READY_TIMEOUT = 240.0  # two first starts (initdb) on a busy 2-core machine


@dataclass
class Runner:
    """One `acx-dev` process and the lines it printed so far."""

    proc: subprocess.Popen[str]
    port: int
    data_dir: Path
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def start_reading(self) -> None:
        assert self.proc.stdout is not None
        stdout = self.proc.stdout

        def pump() -> None:
            for line in stdout:
                self._queue.put(line.rstrip("\n"))
            self._queue.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def wait_for(self, text: str, timeout: float) -> None:
        """Read output until a runner line contains `text`; fail on exit or timeout."""
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines if line.startswith("acx-dev:")):
            try:
                line = self._queue.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no {text!r} within {timeout:.0f}s:\n" + "\n".join(self.lines[-40:]))
            if line is None:
                pytest.fail(f"acx-dev exited ({self.proc.wait()}) before {text!r}:\n" + "\n".join(self.lines[-40:]))
            self.lines.append(line)

    def runner_lines(self) -> list[str]:
        return [line for line in self.lines if line.startswith("acx-dev:")]

    def drain(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                return
            self.lines.append(line)


def _env(port: int, data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_PEPPER", "WORKER_METRICS_PORT", "HOST")
    }
    env.update(PORT=str(port), DATA_DIR=str(data_dir), LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
def data_root() -> Iterator[Path]:
    """A folder for the runners' DATA_DIRs, inside the repository's `.data/test`.

    Not pytest's tmp_path: embedded PostgreSQL runs as another user when we are root and must
    traverse the path, and every pytest session starting on the machine resets the mode of
    /tmp/pytest-of-<user> to 0700 under a running initdb.
    """
    path = repo_root() / ".data" / "test" / f"runner-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def start_runner() -> Iterator[list[Runner]]:
    """Factory list: call `_start(...)`; every runner is stopped (or killed) afterwards."""
    runners: list[Runner] = []
    yield runners
    for runner in runners:
        if runner.proc.poll() is None:
            runner.proc.send_signal(signal.SIGINT)
            try:
                runner.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(runner.proc.pid, signal.SIGKILL)
                runner.proc.wait()


def _start(runners: list[Runner], port: int, data_dir: Path) -> Runner:
    proc = subprocess.Popen(
        [sys.executable, "-m", "acx_dev.runner"],
        env=_env(port, data_dir),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own group: teardown can kill what it left behind
    )
    runner = Runner(proc, port, data_dir)
    runners.append(runner)
    runner.start_reading()
    return runner


@contextlib.contextmanager
def _port_held(port: int) -> Iterator[None]:
    """Listen on 127.0.0.1:`port` ourselves (if someone else already does, that serves as well)."""
    sock = socket.socket()
    try:
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
        yield
    finally:
        sock.close()


def _store_and_await_conversion(runner: Runner) -> None:
    database_url = next(
        line.split(": ", 2)[2] for line in runner.runner_lines() if line.startswith("acx-dev: embedded PostgreSQL:")
    )
    api = f"http://127.0.0.1:{runner.port}/api/v1"
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {ROOT_KEY}"}, timeout=20) as http:
        session_id = http.post("/session", json={}).json()["data"]["id"]
        stored = http.post(f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": "hello"}})
        assert stored.status_code == 201, stored.text
    message_id = stored.json()["data"]["id"]
    deadline = time.monotonic() + 60
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            row = conn.execute("SELECT render_state FROM messages WHERE id = %s", (message_id,)).fetchone()
            if row == ("done",):
                return
            assert time.monotonic() < deadline, f"message never converted: {row}"
            time.sleep(0.2)


@pytest.mark.timeout(600)
def test_two_runners_side_by_side_with_the_metrics_port_taken(start_runner: list[Runner], data_root: Path) -> None:
    with _port_held(9191):
        first = _start(start_runner, free_port(), data_root / "first")
        second = _start(start_runner, free_port(), data_root / "second")
        for runner in (first, second):
            runner.wait_for("press Ctrl-C to stop", READY_TIMEOUT)
        for runner in (first, second):
            lines = runner.runner_lines()
            assert f"acx-dev: ready: base URL http://localhost:{runner.port}/api/v1" in lines
            assert any("SECRET_PEPPER is unset: made a random one" in line for line in lines)
            metrics = next(line for line in lines if "(converter)" in line)
            port = int(re.search(r"http://127\.0\.0\.1:(\d+)/metrics \(converter\)", metrics)[1])  # type: ignore[index]
            assert port != 9191
            assert "acx_render_jobs" in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            # Bound to HOST (127.0.0.1), not every address: another loopback address is refused.
            assert not accepts_connections("127.0.0.2", port)
            assert not accepts_connections("127.0.0.2", runner.port)
            _store_and_await_conversion(runner)
        time.sleep(3)  # nothing dies after ready
        for runner in (first, second):
            assert runner.proc.poll() is None, "\n".join(runner.lines[-40:])
            assert not any("error" in line for line in runner.runner_lines()), runner.runner_lines()
    for runner in (first, second):
        runner.proc.send_signal(signal.SIGINT)
        assert runner.proc.wait(timeout=60) == 0
        runner.drain(5)
        assert "acx-dev: SIGINT received; stopping" in runner.runner_lines()
        assert not (runner.data_dir / "postgres" / "postmaster.pid").exists(), "embedded PostgreSQL still running"
        assert not accepts_connections("127.0.0.1", runner.port)


def test_taken_port_is_one_line_before_anything_starts(start_runner: list[Runner], tmp_path: Path) -> None:
    port = free_port()
    with _port_held(port):
        runner = _start(start_runner, port, tmp_path / "data")
        assert runner.proc.wait(timeout=60) == 1
        runner.drain(2)
    assert runner.runner_lines() == [
        f"acx-dev: error: port {port} on 127.0.0.1 is already in use by another program;"
        f" set PORT to a free port (e.g. PORT={runner.runner_lines()[0].rsplit('PORT=', 1)[1]}"
    ]
    assert not (tmp_path / "data").exists(), "something started before the port check"
