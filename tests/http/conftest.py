"""In-process HTTP layer: `create_app(settings)` under Litestar's `AsyncTestClient`.

The app runs its real lifespan (migrations, pool, arq queue) against the session's PostgreSQL
database and Redis index from `tests/conftest.py`; no process, no socket. HTTP semantics (status
codes, envelopes, parameters, the OpenAPI document) are tested here; what needs real processes
(SDKs over a socket, signals, outages) stays in `tests/integration`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from acx.config import Settings, load_settings
from acx_gateway.app import create_app

ROOT_KEY = "sk-ac-your-root-api-bearer-token"

Client = AsyncTestClient[Litestar]


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str) -> Settings:
    """The test databases, rate limiting off (one client sends everything)."""
    return load_settings({"DATABASE_URL": database_url, "REDIS_URL": redis_url, "RATE_LIMIT_RPS": "0"})


@pytest.fixture(scope="session")
async def app(settings: Settings) -> Litestar:
    """The gateway application (its lifespan runs inside `client`)."""
    return create_app(settings)


@pytest.fixture(scope="session")
async def client(app: Litestar) -> AsyncIterator[Client]:
    """A client of the in-process gateway, authenticated with the root key."""
    async with AsyncTestClient(app, base_url="http://testserver.local/api/v1") as test_client:
        test_client.headers["Authorization"] = f"Bearer {ROOT_KEY}"
        yield test_client


@pytest.fixture
async def session_id(client: Client) -> str:
    """A fresh session of the root project."""
    response = await client.post("/session", json={})
    assert response.status_code == 201, response.text
    return str(uuid.UUID(response.json()["data"]["id"]))
