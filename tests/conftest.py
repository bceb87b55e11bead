"""Root fixtures: real PostgreSQL and Redis for the test session.

`database_url` / `redis_url` (session scope) point at the servers given by DATABASE_URL / REDIS_URL,
or else at embedded servers under `<repo>/.data/test` (reused across runs, separate from the
`.data` of `make run`). Either way each session gets its own fresh PostgreSQL database
(`acx_test_<pid>_<hex>`, dropped at the end) and its own Redis database index (an empty one,
claimed with the key `acx:test-session`, flushed at the end): tests never see the user's data and
concurrent runs do not collide. When the servers are unavailable the tests are skipped locally,
but fail under CI=true.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
from psycopg import sql

from acx_dev._proc import is_alive
from acx_dev.embedded import replace_database, replace_redis_db
from acx_dev.servers import EmbeddedServers

REPO_ROOT = Path(__file__).resolve().parents[1]
TEST_DATA_DIR = REPO_ROOT / ".data" / "test"
INTEGRATION_DIR = Path(__file__).resolve().parent / "integration"
REDIS_CLAIM_KEY = "acx:test-session"
_TEST_DB_PREFIX = "acx_test_"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/integration needs real servers: mark it `integration`."""
    for item in items:
        if item.path.resolve().is_relative_to(INTEGRATION_DIR):
            item.add_marker(pytest.mark.integration)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(reason: str) -> NoReturn:
    """Skip locally; in CI a missing server is a failure, never a silent skip."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: failing instead of skipping)", pytrace=False)
    pytest.skip(reason)


def _env_url(name: str) -> str | None:
    return os.environ.get(name, "").strip() or None


@pytest.fixture(scope="session")
def embedded_servers() -> Iterator[EmbeddedServers | None]:
    """Embedded servers for whichever of DATABASE_URL / REDIS_URL is unset; None when both are set."""
    need_postgres, need_redis = _env_url("DATABASE_URL") is None, _env_url("REDIS_URL") is None
    if not (need_postgres or need_redis):
        yield None
        return
    # database="postgres": each session creates its own database below; redis_port=0: any free
    # port, so the tests never take 6380 from `make run`.
    servers = EmbeddedServers(
        TEST_DATA_DIR, postgres=need_postgres, redis=need_redis, database="postgres", redis_port=0
    )
    try:
        servers.start()
    except Exception as exc:  # noqa: BLE001 - any failure means "no servers": report it
        unavailable(f"cannot start embedded servers under {TEST_DATA_DIR}: {exc}")
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture(scope="session")
def database_url(embedded_servers: EmbeddedServers | None) -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database for this session (dropped at the end)."""
    server_url = _env_url("DATABASE_URL")
    if server_url is None:
        assert embedded_servers is not None
        assert embedded_servers.postgres is not None
        server_url = embedded_servers.postgres.server_url
    name = f"{_TEST_DB_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
            if embedded_servers is not None and embedded_servers.postgres is not None:
                _drop_stale_databases(conn)
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        unavailable(f"cannot create a test database on {_redact(server_url)} (needs CREATEDB): {exc}")
    yield replace_database(server_url, name)
    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _drop_stale_databases(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    # Sessions killed before their teardown leave databases behind; on our own embedded server
    # the PID in the name tells whether the owner is gone.
    rows = conn.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (_TEST_DB_PREFIX,)).fetchall()
    for (raw_name,) in rows:
        datname = str(raw_name)
        pid = datname.removeprefix(_TEST_DB_PREFIX).split("_", 1)[0]
        if pid.isdigit() and not is_alive(int(pid)):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(datname)))


@pytest.fixture(scope="session")
def redis_url(embedded_servers: EmbeddedServers | None) -> Iterator[str]:
    """URL of a Redis database index used by this session alone (flushed at the end)."""
    base_url = _env_url("REDIS_URL")
    if base_url is None:
        assert embedded_servers is not None
        assert embedded_servers.redis is not None
        base_url = embedded_servers.redis.url
    try:
        url = _claim_redis_db(base_url)
    except redis.RedisError as exc:
        unavailable(f"cannot use Redis at {_redact(base_url)}: {exc}")
    if url is None:
        unavailable(f"no empty Redis database index (1-15) on {_redact(base_url)}")
    yield url
    with redis.Redis.from_url(url) as client:
        client.flushdb()


def _claim_redis_db(base_url: str) -> str | None:
    """An empty database index (15 down to 1, never the one in `base_url`), claimed atomically."""
    own_index = int(urlsplit(base_url).path.strip("/") or 0)
    me = f"{socket.gethostname()}:{os.getpid()}"
    for index in range(15, 0, -1):
        if index == own_index:
            continue
        url = replace_redis_db(base_url, index)
        with redis.Redis.from_url(url, decode_responses=True) as client:
            if client.set(REDIS_CLAIM_KEY, me, nx=True):
                if client.dbsize() == 1:
                    return url
                client.delete(REDIS_CLAIM_KEY)  # someone's data lives here: leave it alone
                continue
            host, _, pid = str(client.get(REDIS_CLAIM_KEY) or "").partition(":")
            if host == socket.gethostname() and pid.isdigit() and not is_alive(int(pid)):
                client.flushdb()  # left by a killed session on this machine
                if client.set(REDIS_CLAIM_KEY, me, nx=True):
                    return url
    return None


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
