"""Dedicated servers, processes and checks for the fault-injection tests (`test_faults.py`).

Fault tests stop and restart PostgreSQL, Redis and the converter, so they never use the session's
shared servers or `stack`: `open_fault_servers` starts a private embedded PostgreSQL and/or Redis
under their own data dir (for whichever of DATABASE_URL / REDIS_URL is unset), and `FaultStack`
runs a private gateway and converter on them. With external servers (the env URLs set) the tests
get a fresh database and an empty Redis database index instead, and only the tests that restart
a server are skipped: external servers cannot be restarted from here.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from arq.constants import health_check_key_suffix
from psycopg import sql

from acx import jobs
from acx_dev._proc import is_alive
from acx_dev.embedded import EmbeddedPostgres, EmbeddedRedis, replace_database, replace_redis_db
from acx_dev.servers import EmbeddedServers
from tests.integration._processes import ServiceProcess, free_port, service_env, wait_http_ok

__all__ = [
    "FORMATS",
    "ConversionReport",
    "FaultServers",
    "FaultStack",
    "StoreOutcome",
    "api_client",
    "conversion_report",
    "converted_count",
    "create_sessions",
    "in_progress_jobs",
    "kill9",
    "kill9_mid_job",
    "open_fault_servers",
    "start_gateway",
    "store_load",
    "store_one",
    "unfinished_claimed_conversions",
    "wait_converted",
]

ROOT_KEY = "sk-ac-your-root-api-bearer-token"
FORMATS = frozenset({"openai", "anthropic", "gemini", "acontext"})
FAULTS_DATA_ROOT = Path(__file__).resolve().parents[2] / ".data" / "test"
_REDIS_CLAIM_KEY = "acx:test-session"  # same claim protocol as tests/conftest.py
_DB_PREFIX = "acx_test_"
_WORKER_HEALTH_KEY = (
    jobs.QUEUE_NAME + health_check_key_suffix
)  # tests/conftest.py drops stale ones of dead PIDs on the embedded server


def _env_url(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


@dataclass
class FaultServers:
    """PostgreSQL and Redis reserved for the fault tests; embedded ones can be stopped and started."""

    database_url: str
    redis_url: str
    embedded: EmbeddedServers | None
    data_dir: Path | None
    external_database: tuple[str, str] | None = None  # (server URL, database name) to drop at the end

    @property
    def postgres(self) -> EmbeddedPostgres | None:
        """Our embedded PostgreSQL, or None when DATABASE_URL names an external server."""
        return self.embedded.postgres if self.embedded is not None else None

    @property
    def redis(self) -> EmbeddedRedis | None:
        """Our embedded Redis, or None when REDIS_URL names an external server."""
        return self.embedded.redis if self.embedded is not None else None

    def stop_postgres(self) -> None:
        """Fast shutdown of the embedded PostgreSQL (clients are disconnected)."""
        assert self.postgres is not None, "PostgreSQL is external: it cannot be stopped"
        self.postgres.stop()

    def start_postgres(self) -> None:
        """Start the embedded PostgreSQL again (same data dir, same socket: same URL); returns when ready."""
        assert self.postgres is not None, "PostgreSQL is external: it cannot be started"
        if self.postgres.pid is None:
            self.postgres.start()
        assert self.postgres.url == self.database_url, (self.postgres.url, self.database_url)

    def stop_redis(self, *, wipe: bool = False) -> None:
        """Shut the embedded Redis down; `wipe` deletes its AOF/RDB so it restarts empty (= flushed)."""
        assert self.redis is not None, "Redis is external: it cannot be stopped"
        self.redis.stop()
        if wipe:
            shutil.rmtree(self.redis.directory / "appendonlydir", ignore_errors=True)
            (self.redis.directory / "dump.rdb").unlink(missing_ok=True)

    def start_redis(self) -> None:
        """Start the embedded Redis again on the same port (so every client's URL stays valid)."""
        assert self.redis is not None, "Redis is external: it cannot be started"
        if self.redis.pid is None:
            self.redis.start()
        assert self.redis.url == replace_redis_db(self.redis_url, 0), (self.redis.url, self.redis_url)

    def ensure_up(self) -> None:
        """Start whatever embedded server a previous (failed) test left stopped."""
        if self.postgres is not None and self.postgres.pid is None:
            self.start_postgres()
        if self.redis is not None and self.redis.pid is None:
            self.start_redis()

    def close(self) -> None:
        """Stop the embedded servers and delete their data; drop the external database."""
        if self.embedded is not None:
            self.embedded.stop()
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.external_database is not None:
            server_url, name = self.external_database
            with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if _env_url("REDIS_URL") is not None:
            with redis.Redis.from_url(self.redis_url) as client:
                client.flushdb()


def open_fault_servers() -> FaultServers:
    """Private servers for the fault tests (embedded for each env URL that is unset).

    The embedded Redis gets a fixed free port, so a restart comes back on the same URL.
    """
    db_env, redis_env = _env_url("DATABASE_URL"), _env_url("REDIS_URL")
    embedded: EmbeddedServers | None = None
    data_dir: Path | None = None
    if db_env is None or redis_env is None:
        data_dir = FAULTS_DATA_ROOT / f"faults-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        embedded = EmbeddedServers(data_dir, postgres=db_env is None, redis=redis_env is None, redis_port=free_port())
        try:
            embedded.start()
        except BaseException:
            shutil.rmtree(data_dir, ignore_errors=True)
            raise
    servers = FaultServers("", "", embedded, data_dir)
    try:
        if db_env is None:
            assert embedded is not None
            servers.database_url = embedded.database_url
        else:
            name = f"{_DB_PREFIX}{os.getpid()}_faults_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(db_env, autocommit=True, connect_timeout=10) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            servers.external_database = (db_env, name)
            servers.database_url = replace_database(db_env, name)
        if redis_env is None:
            assert embedded is not None
            servers.redis_url = embedded.redis_url
        else:
            servers.redis_url = _claim_redis_db(redis_env)
    except BaseException:
        servers.close()
        raise
    return servers


def _claim_redis_db(base_url: str) -> str:
    """An empty database index of an external Redis (15 down to 1, not the URL's own), claimed with NX."""
    own = base_url.rsplit("/", 1)[-1]
    me = f"{socket.gethostname()}:{os.getpid()}"
    for index in range(15, 0, -1):
        if own == str(index):
            continue
        url = replace_redis_db(base_url, index)
        with redis.Redis.from_url(url) as client:
            if client.set(_REDIS_CLAIM_KEY, me, nx=True):
                if client.dbsize() == 1:
                    return url
                client.delete(_REDIS_CLAIM_KEY)
    raise RuntimeError(f"no empty Redis database index (1-15) for the fault tests on {base_url}")


@dataclass
class FaultStack:
    """A private gateway and converter on `servers` (child processes, logs under `logs`)."""

    servers: FaultServers
    logs: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    gateway: ServiceProcess = field(init=False)
    worker: ServiceProcess = field(init=False)
    _extra: list[ServiceProcess] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        env = self.env(self.port)
        self.gateway = ServiceProcess("acx_gateway", env, self.logs / "gateway.log")
        self.worker = ServiceProcess("acx_converter", env, self.logs / "converter.log")

    @property
    def base_url(self) -> str:
        """The gateway's root URL (probes)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """The gateway's API base URL."""
        return f"{self.base_url}/api/v1"

    def env(self, port: int, **overrides: str) -> dict[str, str]:
        """Environment of a child serving on `port`, with `extra_env` and `overrides` applied."""
        env = service_env(self.servers.database_url, self.servers.redis_url, port)
        env.update(self.extra_env)
        env.update(overrides)
        return env

    def ensure_running(self) -> None:
        """Servers up, gateway answering, worker running: the state every test starts from."""
        self.servers.ensure_up()
        start_gateway(self.gateway, self.base_url)
        self.start_worker()

    def start_worker(self, bound: float = 60.0) -> None:
        """(Re)start the converter and wait until it polls the queue (arq writes its health-check
        key on its first poll), so a fault injected next really hits a running worker."""
        if self.worker.proc is not None and self.worker.proc.poll() is None:
            return
        with redis.Redis.from_url(self.servers.redis_url) as client:
            client.delete(_WORKER_HEALTH_KEY)
            proc = self.worker.start()
            deadline = time.monotonic() + bound
            while not client.exists(_WORKER_HEALTH_KEY):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"converter did not start polling\n{self.worker.log_tail()}")
                time.sleep(0.05)

    def extra_gateway(self, name: str, **overrides: str) -> tuple[ServiceProcess, str]:
        """Start another gateway on the same servers with `overrides`; returns it and its API URL."""
        port = free_port()
        process = ServiceProcess("acx_gateway", self.env(port, **overrides), self.logs / f"{name}.log")
        self._extra.append(process)
        start_gateway(process, f"http://127.0.0.1:{port}")
        return process, f"http://127.0.0.1:{port}/api/v1"

    def worker_exited(self) -> bool:
        """Whether the converter process has exited (nothing will be converted any more)."""
        return self.worker.proc is None or self.worker.proc.poll() is not None

    def stop(self) -> None:
        """Stop every child process."""
        for process in [*self._extra, self.worker, self.gateway]:
            process.stop()

    def logs_tail(self, lines: int = 25) -> str:
        """The end of each child's log, for failure messages."""
        parts = [f"--- {p.log_path.name}\n{p.log_tail(lines)}" for p in [self.gateway, self.worker, *self._extra]]
        return "\n".join(parts)


def start_gateway(process: ServiceProcess, base_url: str) -> None:
    """Start `process` (if it is not running) and wait until /healthz answers."""
    proc = process.start()
    try:
        wait_http_ok(f"{base_url}/healthz", timeout=60.0, proc=proc)
    except (RuntimeError, TimeoutError) as exc:
        process.stop()
        raise RuntimeError(f"gateway did not start: {exc}\n{process.log_tail()}") from exc


def kill9(process: ServiceProcess) -> int:
    """SIGKILL the process (no shutdown hooks run) and reap it; returns its old PID."""
    assert process.proc is not None
    assert process.proc.poll() is None, "process is not running"
    pid = process.proc.pid
    process.stop(signal.SIGKILL)
    assert not is_alive(pid)
    return pid


def kill9_mid_job(stack: FaultStack, bound: float = 10.0) -> int:
    """SIGKILL the converter in the middle of a job: while it holds a job whose message is not
    converted yet. Returns how many such jobs it held.

    The worker is frozen (SIGSTOP) while its in-progress keys and the messages' conversion state are
    looked at, then killed, or resumed and tried again a moment later.
    """
    process = stack.worker.proc
    assert process is not None
    assert process.poll() is None, "converter is not running"
    deadline = time.monotonic() + bound
    while True:
        process.send_signal(signal.SIGSTOP)
        held = unfinished_claimed_conversions(stack.servers.redis_url, stack.servers.database_url)
        if held or time.monotonic() > deadline:
            break
        process.send_signal(signal.SIGCONT)
        time.sleep(0.005)
    kill9(stack.worker)
    assert held, f"the converter was never caught mid-job in {bound} s\n{stack.worker.log_tail()}"
    return held


def unfinished_claimed_conversions(redis_url: str, database_url: str) -> int:
    """Messages a converter has claimed (render_state 'running') and not finished."""
    del redis_url  # claims are recorded in PostgreSQL
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM messages WHERE render_state = 'running'").fetchone()
    return int(str(row[0])) if row else 0


def api_client(api_url: str, *, concurrency: int = 32, timeout: float = 30.0) -> httpx.AsyncClient:
    """An async client with the root key and at most `concurrency` connections."""
    return httpx.AsyncClient(
        base_url=api_url,
        headers={"Authorization": f"Bearer {ROOT_KEY}"},
        timeout=timeout,
        limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
    )


async def create_sessions(client: httpx.AsyncClient, count: int) -> list[str]:
    """`count` fresh sessions of the root project."""
    ids = []
    for _ in range(count):
        response = await client.post("/session", json={})
        assert response.status_code == 201, response.text
        ids.append(str(response.json()["data"]["id"]))
    return ids


@dataclass
class StoreOutcome:
    """What one store request got back (status None: no HTTP response at all)."""

    session_id: str
    index: int
    started: float  # time.monotonic() when the request was sent
    elapsed: float
    status: int | None
    message_id: str | None = None
    retry_after: str | None = None
    body: Any = None
    error: str | None = None

    def describe(self) -> str:
        """One line for failure messages."""
        return (
            f"#{self.index} session={self.session_id} status={self.status} after {self.elapsed:.2f}s"
            f" retry_after={self.retry_after} body={str(self.body)[:200]} error={self.error}"
        )


async def store_one(
    client: httpx.AsyncClient, session_id: str, index: int, headers: dict[str, str] | None = None
) -> StoreOutcome:
    """Store one small OpenAI user message; the outcome, whatever happened (never raises)."""
    blob = {"role": "user", "content": f"fault-test message {index}: the quick brown fox jumps over the lazy dog"}
    started = time.monotonic()
    try:
        response = await client.post(
            f"/session/{session_id}/messages", json={"format": "openai", "blob": blob}, headers=headers
        )
    except httpx.HTTPError as exc:
        return StoreOutcome(session_id, index, started, time.monotonic() - started, None, error=repr(exc))
    outcome = StoreOutcome(session_id, index, started, time.monotonic() - started, response.status_code)
    outcome.retry_after = response.headers.get("retry-after")
    try:
        outcome.body = response.json()
    except ValueError:
        outcome.body = response.text
    if response.status_code == 201 and isinstance(outcome.body, dict):
        outcome.message_id = str(outcome.body["data"]["id"])
    return outcome


async def store_load(
    client: httpx.AsyncClient,
    session_ids: list[str],
    *,
    total: int | None = None,
    until: asyncio.Event | None = None,
    concurrency: int = 32,
    on_progress: Callable[[int], None] | None = None,
) -> list[StoreOutcome]:
    """Store messages round-robin over `session_ids` with `concurrency` requests in flight.

    Stops after `total` requests, or once `until` is set; `on_progress(done)` runs after each
    response. Never raises for a failed request: every outcome is returned for the caller to judge.
    """
    assert total is not None or until is not None
    outcomes: list[StoreOutcome] = []
    counter = 0

    async def lane() -> None:
        nonlocal counter
        while (total is None or counter < total) and (until is None or not until.is_set()):
            index = counter
            counter += 1
            outcomes.append(await store_one(client, session_ids[index % len(session_ids)], index))
            if on_progress is not None:
                on_progress(len(outcomes))

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return outcomes


@dataclass
class ConversionReport:
    """Conversion state of every message of some sessions, straight from the database."""

    states: dict[str, str]  # message id -> render_state
    tokens_missing: set[str]
    formats: dict[str, list[str]]  # message id -> formats of its rendering rows

    @property
    def pending(self) -> set[str]:
        """Messages not converted yet."""
        return {mid for mid, state in self.states.items() if state in ("pending", "running")}

    def problems(self) -> list[str]:
        """Why this is not "every message converted, exactly one rendering per format" (empty when it is)."""
        out = []
        not_done = {mid: state for mid, state in self.states.items() if state != "done"}
        if not_done:
            out.append(f"{len(not_done)} messages not converted, e.g. {list(not_done.items())[:3]}")
        if self.tokens_missing:
            out.append(f"{len(self.tokens_missing)} messages without tokens, e.g. {sorted(self.tokens_missing)[:3]}")
        wrong = {mid: fmts for mid, fmts in self.formats.items() if len(fmts) != len(FORMATS) or set(fmts) != FORMATS}
        if wrong:
            out.append(
                f"{len(wrong)} messages without exactly one rendering per format, e.g. {list(wrong.items())[:3]}"
            )
        return out


async def conversion_report(database_url: str, session_ids: list[str]) -> ConversionReport:
    """The conversion state, token count and rendering rows of every message in `session_ids`."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True, connect_timeout=10) as conn:
        rows = await (
            await conn.execute(
                "SELECT m.id::text, m.render_state, m.tokens IS NULL,"
                " coalesce(array_agg(r.format) FILTER (WHERE r.format IS NOT NULL), '{}')"
                " FROM messages m LEFT JOIN renderings r ON r.session_id = m.session_id AND r.message_id = m.id"
                " WHERE m.session_id IN (SELECT id FROM sessions WHERE public_id = ANY(%s::uuid[]))"
                " GROUP BY m.session_id, m.id, m.render_state, m.tokens",
                (session_ids,),
            )
        ).fetchall()
    report = ConversionReport({}, set(), {})
    for mid, state, no_tokens, fmts in rows:
        key = str(mid)
        report.states[key] = str(state)
        if no_tokens:
            report.tokens_missing.add(key)
        report.formats[key] = [str(f) for f in fmts]
    return report


async def wait_converted(
    database_url: str, session_ids: list[str], bound: float, give_up: Callable[[], bool] | None = None
) -> tuple[ConversionReport, float]:
    """Poll until no message of `session_ids` is pending, `bound` seconds passed or `give_up()` is true;
    returns the last report and how long it waited."""
    started = time.monotonic()
    while True:
        report = await conversion_report(database_url, session_ids)
        waited = time.monotonic() - started
        if not report.pending or waited > bound or (give_up is not None and give_up()):
            return report, waited
        await asyncio.sleep(0.5)


def converted_count(database_url: str) -> int:
    """How many messages the converter has converted so far (whole database)."""
    with psycopg.connect(database_url, autocommit=True, connect_timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM messages WHERE render_state = 'done'").fetchone()
    return int(str(row[0])) if row else 0


def in_progress_jobs(redis_url: str) -> int:
    """How many jobs a converter has claimed and not finished (arq in-progress keys)."""
    with redis.Redis.from_url(redis_url) as client:
        return sum(1 for _ in client.scan_iter(match="arq:in-progress:*", count=1000))
