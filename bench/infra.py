"""PostgreSQL and Redis for the bench: DATABASE_URL / REDIS_URL when set, else embedded servers.

The bench always works in a database of its own (`acx_bench_<pid>`, created at start, dropped at
the end) on whichever server it gets, so it never touches application data, and two benches on one
shared server never drop each other's database.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from acx.db.migrate import migrate
from acx_dev.embedded import replace_database
from acx_dev.servers import EmbeddedServers

__all__ = ["BENCH_DATABASE", "Infra", "infrastructure"]

BENCH_DATABASE = f"acx_bench_{os.getpid()}"


@dataclass(frozen=True)
class Infra:
    """Where the bench's database and Redis are."""

    database_url: str
    redis_url: str
    embedded: bool


def _recreate_database(url: str) -> None:
    admin = replace_database(url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DATABASE)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DATABASE)))


def _drop_database(url: str) -> None:
    admin = replace_database(url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(BENCH_DATABASE)))


@contextlib.contextmanager
def infrastructure(data_dir: Path, *, keep_database: bool = False) -> Iterator[Infra]:
    """Servers (embedded for whichever URL is unset) and a fresh, migrated bench database."""
    db_env = os.environ.get("DATABASE_URL", "").strip() or None
    redis_env = os.environ.get("REDIS_URL", "").strip() or None
    servers = EmbeddedServers(data_dir, postgres=db_env is None, redis=redis_env is None, database=BENCH_DATABASE)
    with servers:
        server_url = db_env or servers.database_url
        database_url = replace_database(server_url, BENCH_DATABASE)
        redis_url = redis_env or servers.redis_url
        _recreate_database(database_url)
        try:
            migrate(database_url)
            yield Infra(database_url, redis_url, embedded=db_env is None)
        finally:
            if not keep_database:
                _drop_database(database_url)
