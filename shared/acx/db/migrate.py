"""Versioned SQL migrations, applied at start-up by every gateway and worker process.

Files are `migrations/NNNN_name.sql`, applied in order, each in its own transaction together with
its row in `schema_migrations`. A session-level advisory lock serialises concurrent starters (several
replicas rolling out at once): the first applies, the others wait and then find nothing to do. The
lock dies with the connection, so a killed pod never leaves a stale lock behind (the reason this is
not yoyo-migrations, whose lock row outlives a crashed process).
"""

from __future__ import annotations

import re
import sys
from importlib import resources
from typing import NamedTuple

import psycopg

from acx.config import ConfigError, load_settings

__all__ = ["Migration", "applied_versions", "available_migrations", "main", "migrate"]

# Arbitrary constant shared by all processes of this product: pg_advisory_lock(key).
_LOCK_KEY = 0x61637801
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class Migration(NamedTuple):
    """One SQL migration file."""

    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """All migrations shipped with the package, in version order."""
    found = []
    for entry in resources.files("acx.db").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return sorted(found)


def applied_versions(conn: psycopg.Connection[tuple[object, ...]]) -> set[int]:
    """Versions recorded in schema_migrations (empty when the table does not exist yet)."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return set()
    return {int(str(row[0])) for row in conn.execute("SELECT version FROM schema_migrations")}


def migrate(database_url: str) -> list[Migration]:
    """Apply pending migrations; return the ones this call applied."""
    applied: list[Migration] = []
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT clock_timestamp())"
            )
            done = applied_versions(conn)
            for migration in available_migrations():
                if migration.version in done:
                    continue
                with conn.transaction():
                    conn.execute(migration.sql.encode())
                    conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                        (migration.version, migration.name),
                    )
                applied.append(migration)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied


def is_up_to_date(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    """True when every shipped migration is applied (used by readiness checks)."""
    return {m.version for m in available_migrations()} <= applied_versions(conn)


def main() -> None:
    """`python -m acx.db.migrate`: apply migrations to DATABASE_URL (`make migrate` also covers the embedded server)."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        sys.exit(str(exc))
    if not settings.database_url:
        sys.exit("DATABASE_URL is not set (`make migrate` migrates the embedded PostgreSQL of `make run`)")
    applied = migrate(settings.database_url)
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "nothing to apply"
    print(f"migrations: {names}")


if __name__ == "__main__":
    main()
