"""Embedded PostgreSQL and Redis: start, answer, persist across restarts, stop without leftovers.

Each test uses its own data dir under `.data/test` (not the session's servers, which must keep
running) and deletes it afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from acx_dev._proc import cmdline, is_alive
from acx_dev.servers import EmbeddedServers

TEST_DATA_DIR = Path(__file__).resolve().parents[2] / ".data" / "test"


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = TEST_DATA_DIR / f"embedded-{uuid.uuid4().hex[:8]}"
    yield path
    leftovers = _processes_using(path)
    for pid in leftovers:  # never leak servers into the next test, even when this one failed
        os.kill(pid, signal.SIGKILL)
    shutil.rmtree(path, ignore_errors=True)
    assert not leftovers, f"processes left running on {path}: {leftovers}"


def _processes_using(path: Path) -> list[int]:
    """Live processes started on `path`: postgres has it in its command line (-D); redis-server
    rewrites its process title, but runs with its --dir as working directory."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        pid = int(entry.name)
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            cwd = ""
        if (str(path) in (cmdline(pid) or "") or cwd.startswith(str(path))) and is_alive(pid):
            found.append(pid)
    return found


def _pids(servers: EmbeddedServers) -> tuple[int, int]:
    assert servers.postgres is not None
    assert servers.redis is not None
    assert servers.postgres.pid is not None
    assert servers.redis.pid is not None
    return servers.postgres.pid, servers.redis.pid


def test_start_query_persist_and_stop(data_dir: Path) -> None:
    with EmbeddedServers(data_dir, redis_port=0) as servers:
        assert servers.database_url.startswith("postgresql://postgres@/acx?host=")
        assert servers.redis_url.startswith("redis://127.0.0.1:")
        with psycopg.connect(servers.database_url, autocommit=True) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == ("acx",)
            conn.execute("CREATE TABLE kept (value text)")
            conn.execute("INSERT INTO kept VALUES ('survives restarts')")
        with redis.Redis.from_url(servers.redis_url) as client:
            assert client.ping()
            client.set("kept", "survives restarts")
        first_pids = _pids(servers)

    assert not any(is_alive(pid) for pid in first_pids)
    assert _processes_using(data_dir) == []

    with EmbeddedServers(data_dir, redis_port=0) as servers:
        assert _pids(servers) != first_pids  # really restarted, not reused
        with psycopg.connect(servers.database_url) as conn:
            assert conn.execute("SELECT value FROM kept").fetchall() == [("survives restarts",)]
        with redis.Redis.from_url(servers.redis_url) as client:
            assert client.get("kept") == b"survives restarts"
    assert _processes_using(data_dir) == []


def test_last_holder_stops_the_servers(data_dir: Path) -> None:
    first = EmbeddedServers(data_dir, redis_port=0).start()
    second = EmbeddedServers(data_dir, redis_port=0).start()
    try:
        assert _pids(first) == _pids(second)  # the second start reused the running servers
        pids = _pids(first)
        first.stop()
        assert all(is_alive(pid) for pid in pids)  # still in use by `second`
        with psycopg.connect(second.database_url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        second.stop()
    assert not any(is_alive(pid) for pid in pids)


def test_servers_of_a_killed_process_are_reused_then_stopped(data_dir: Path) -> None:
    # A holder killed with SIGKILL cannot clean up: the next user reuses its servers and,
    # being the only live holder, stops them at the end.
    script = (
        "import sys, time\n"
        "from acx_dev.servers import EmbeddedServers\n"
        f"s = EmbeddedServers({str(data_dir)!r}, redis_port=0).start()\n"
        "print(s.postgres.pid, s.redis.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    orphan_pids = tuple(int(pid) for pid in line.split())
    assert len(orphan_pids) == 2
    assert all(is_alive(pid) for pid in orphan_pids)

    with EmbeddedServers(data_dir, redis_port=0) as servers:
        assert _pids(servers) == orphan_pids
    assert not any(is_alive(pid) for pid in orphan_pids)


def test_sigterm_stops_the_servers(data_dir: Path) -> None:
    script = (
        "import time\n"
        "from acx_dev.servers import EmbeddedServers\n"
        f"with EmbeddedServers({str(data_dir)!r}, redis_port=0) as s:\n"
        "    print(s.postgres.pid, s.redis.pid, flush=True)\n"
        "    time.sleep(120)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    with proc.stdout:
        pids = tuple(int(pid) for pid in proc.stdout.readline().split())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    assert len(pids) == 2
    assert not any(is_alive(pid) for pid in pids)


def test_restart_after_servers_were_killed(data_dir: Path) -> None:
    # SIGKILLed servers leave postmaster.pid / redis.pid behind, and where PID 1 does not reap
    # (containers) the dead postmaster stays a zombie whose PID still "exists".
    script = (
        "import os, signal, time\n"
        "from acx_dev.servers import EmbeddedServers\n"
        f"s = EmbeddedServers({str(data_dir)!r}, redis_port=0).start()\n"
        "print(s.postgres.pid, s.redis.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    with proc.stdout:
        killed = tuple(int(pid) for pid in proc.stdout.readline().split())
    for pid in (proc.pid, *killed):
        os.kill(pid, signal.SIGKILL)
    proc.wait()
    assert (data_dir / "postgres" / "postmaster.pid").exists()

    with EmbeddedServers(data_dir, redis_port=0) as servers:
        assert set(_pids(servers)).isdisjoint(killed)
        with psycopg.connect(servers.database_url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        with redis.Redis.from_url(servers.redis_url) as client:
            assert client.ping()
