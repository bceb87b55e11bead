"""The root conftest's session fixtures: a private PostgreSQL database and Redis index."""

from __future__ import annotations

from urllib.parse import urlsplit

import psycopg
import redis

REDIS_CLAIM_KEY = "acx:test-session"  # see tests/conftest.py


def test_database_url_is_a_fresh_private_database(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT current_database()").fetchone()
        assert row is not None
        assert str(row[0]).startswith("acx_test_")
        conn.execute("CREATE TEMP TABLE probe (x int)")  # writable


def test_redis_url_is_a_claimed_private_index(redis_url: str) -> None:
    index = int(urlsplit(redis_url).path.strip("/"))
    assert 1 <= index <= 15
    with redis.Redis.from_url(redis_url) as client:
        assert client.ping()
        assert client.exists(REDIS_CLAIM_KEY)
