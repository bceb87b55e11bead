"""Migration 0007 (issue 12 item 2): sessions get per-project ids and existing data is kept."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from acx.db.migrate import available_migrations, migrate
from acx.db.sessions import session_key

pytestmark = pytest.mark.integration

REKEY_VERSION = next(m.version for m in available_migrations() if m.name == "session_ids_per_project")


@pytest.fixture
def old_database(database_url: str) -> Iterator[str]:
    """A database migrated up to just before the session re-keying."""
    name = f"acx_rekey_{uuid.uuid4().hex[:10]}"
    url = urlunsplit(urlsplit(database_url)._replace(path=f"/{name}"))
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL)")
            for migration in available_migrations():
                if migration.version < REKEY_VERSION:
                    conn.execute(migration.sql.encode())
                    conn.execute("INSERT INTO schema_migrations VALUES (%s, %s)", (migration.version, migration.name))
        yield url
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_existing_sessions_keep_their_ids_and_everything_in_them(old_database: str) -> None:
    project, session, message, event = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(old_database, autocommit=True) as conn:
        conn.execute("INSERT INTO projects (id, token_hmac) VALUES (%s, 'h')", (project,))
        conn.execute("INSERT INTO sessions (id, project_id, message_count) VALUES (%s, %s, 1)", (session, project))
        conn.execute(
            "INSERT INTO messages (id, session_id, project_id, seq, role, format, raw, parts)"
            " VALUES (%s, %s, %s, 0, 'user', 'openai', '{\"role\":\"user\"}', '{}')",
            (message, session, project),
        )
        conn.execute(
            "INSERT INTO renderings (session_id, message_id, format, codec_version, body)"
            " VALUES (%s, %s, 'openai', 1, '[]')",
            (session, message),
        )
        conn.execute(
            "INSERT INTO assets (project_id, sha256, mime, size_b, data, ref_count)"
            " VALUES (%s, 'ab', 'x/y', 1, 'x', 1)",
            (project,),
        )
        conn.execute(
            "INSERT INTO message_assets (session_id, message_id, project_id, sha256) VALUES (%s, %s, %s, 'ab')",
            (session, message, project),
        )
        conn.execute(
            "INSERT INTO session_events (id, session_id, project_id, type, data) VALUES (%s, %s, %s, 't', '{}')",
            (event, session, project),
        )
    applied = migrate(old_database)
    assert [m.version for m in applied][:1] == [REKEY_VERSION]
    key = session_key(project, session)
    with psycopg.connect(old_database) as conn:
        assert conn.execute("SELECT id, public_id FROM sessions").fetchall() == [(key, session)]
        for table in ("messages", "renderings", "message_assets", "session_events"):
            rows = conn.execute(sql.SQL("SELECT session_id FROM {}").format(sql.Identifier(table))).fetchall()
            assert rows == [(key,)], table
        assert conn.execute("SELECT raw FROM messages WHERE id = %s", (message,)).fetchone() == ('{"role":"user"}',)
        # The SQL twin of `session_key` and the Python one agree for new rows too.
        other = uuid.uuid4()
        derived = conn.execute(
            "SELECT encode(substring(sha256(uuid_send(%s::uuid) || uuid_send(%s::uuid)) FROM 1 FOR 16), 'hex')::uuid",
            (project, other),
        ).fetchone()
        assert derived == (session_key(project, other),)
