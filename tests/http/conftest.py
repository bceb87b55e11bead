"""In-process HTTP layer: `create_app(settings)` under Litestar's `AsyncTestClient`.

The app runs its real lifespan (migrations, pool, arq queue) against the session's PostgreSQL
database and Redis index from `tests/conftest.py`; no process, no socket. HTTP semantics (status
codes, envelopes, parameters, the OpenAPI document) are tested here; what needs real processes
(SDKs over a socket, signals, outages) stays in `tests/integration`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from litestar.testing.transport import TestClientTransport

from acx.config import Settings, load_settings
from acx_gateway.app import create_app
from tests.http._helpers import new_project_key
from tests.integration._processes import TEST_PEPPER

ROOT_KEY = "sk-ac-your-root-api-bearer-token"
BASE_URL = "http://testserver.local"
API_URL = f"{BASE_URL}/api/v1"
METRICS = f"{BASE_URL}/metrics"

Client = AsyncTestClient[Litestar]
#: Starts another in-process gateway on the test databases with extra settings: `await start(MAX_BODY_BYTES="4096")`.
StartGateway = Callable[..., Awaitable[Client]]


def settings_with(database_url: str, redis_url: str, **env: str) -> Settings:
    """The test databases, rate limiting off (one client sends everything) unless `env` says otherwise.

    The pepper is the integration stack's: the default project's key HMAC is re-keyed by whichever
    gateway starts, so both layers must agree on it or a later layer's root key answers 401.
    """
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "RATE_LIMIT_RPS": "0",
            "SECRET_PEPPER": TEST_PEPPER,
            **env,
        }
    )


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Client]:
    """A new app for `settings`, its lifespan running, and a client authenticated with the root key."""
    async with AsyncTestClient(create_app(settings), base_url=API_URL) as test_client:
        test_client.headers["Authorization"] = f"Bearer {ROOT_KEY}"
        yield test_client


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str) -> Settings:
    """The settings of the session's app."""
    return settings_with(database_url, redis_url)


@pytest.fixture(scope="session")
async def client(settings: Settings) -> AsyncIterator[Client]:
    """A client of the in-process gateway, authenticated with the root key."""
    async with running(settings) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def app(client: Client) -> Litestar:
    """The gateway application `client` talks to."""
    assert isinstance(client.app, Litestar)
    return client.app


@pytest.fixture(scope="module")
async def start_gateway(database_url: str, redis_url: str) -> AsyncIterator[StartGateway]:
    """Factory of further in-process gateways with settings of their own, stopped after the module."""
    async with AsyncExitStack() as gateways:

        async def start(**env: str) -> Client:
            return await gateways.enter_async_context(running(settings_with(database_url, redis_url, **env)))

        yield start


class _SameApp(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Requests to the app an `AsyncTestClient` runs, on that client's event loop thread."""

    def __init__(self, client: Client) -> None:
        self._transport = TestClientTransport(client=client)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._transport.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self._transport.handle_request(request)


def as_project(client: Client, key: str | None = None) -> httpx.AsyncClient:
    """A client of the app `client` runs (no second lifespan), authenticated with `key` (None: anonymous)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(base_url=client.base_url, headers=headers, transport=_SameApp(client))


def concurrently(client: Client, count: int, send: Callable[[httpx.Client], httpx.Response]) -> list[httpx.Response]:
    """`send` run `count` times at once, from as many threads, against the app `client` runs.

    The async client's requests never overlap (each one blocks the test's event loop until the app
    has answered); requests from several threads do, as on a real server.
    """
    with (
        httpx.Client(base_url=client.base_url, headers=client.headers, transport=_SameApp(client)) as sync,
        ThreadPoolExecutor(max_workers=count) as pool,
    ):
        return list(pool.map(lambda _: send(sync), range(count)))


@pytest.fixture(scope="session")
async def other_project_key(settings: Settings, database_url: str) -> str:
    """The API key of a second project (for isolation tests)."""
    return await new_project_key(settings, database_url, "other")


@pytest.fixture
async def fresh_project_key(settings: Settings, database_url: str) -> str:
    """The API key of a new, empty project (a listing then holds exactly what the test made)."""
    return await new_project_key(settings, database_url, "fresh")


@pytest.fixture
async def fresh(client: Client, fresh_project_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a new, empty project."""
    async with as_project(client, fresh_project_key) as fresh_client:
        yield fresh_client


@pytest.fixture
async def anonymous(client: Client) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app without any Authorization header."""
    async with as_project(client) as anonymous_client:
        yield anonymous_client


@pytest.fixture
async def other(client: Client, other_project_key: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the second project."""
    async with as_project(client, other_project_key) as other_client:
        yield other_client


@pytest.fixture
async def session_id(client: Client) -> str:
    """A fresh session of the root project."""
    response = await client.post("/session", json={})
    assert response.status_code == 201, response.text
    return str(uuid.UUID(response.json()["data"]["id"]))
