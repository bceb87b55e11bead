"""Integration fixtures: a real gateway and converter worker on the test databases.

`tests/conftest.py` provides `database_url` / `redis_url` (embedded servers, or the ones given in
the environment). Here the gateway and the worker run as child processes, exactly as deployed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import acontext
import httpx
import pytest

from tests.integration._helpers import sdk_client
from tests.integration._processes import TEST_PEPPER, ServiceProcess, free_port, service_env, wait_http_ok

ROOT_KEY = "sk-ac-your-root-api-bearer-token"
PEPPER = TEST_PEPPER


@dataclass
class Stack:
    """A running gateway + converter."""

    base_url: str
    api_url: str
    root_key: str
    database_url: str
    redis_url: str
    gateway: ServiceProcess
    worker: ServiceProcess

    def start_worker(self) -> None:
        """(Re)start the converter."""
        self.worker.start()

    def client(self, key: str | None = None) -> httpx.Client:
        """A plain HTTP client of the API, authenticated with `key` (the root key by default)."""
        return httpx.Client(base_url=self.api_url, headers=self.auth(key), timeout=30)

    def async_client(self, key: str | None = None) -> httpx.AsyncClient:
        """The async twin of `client`."""
        return httpx.AsyncClient(base_url=self.api_url, headers=self.auth(key), timeout=30)

    def auth(self, key: str | None = None) -> dict[str, str]:
        """The Authorization header for `key` (the root key by default)."""
        return {"Authorization": f"Bearer {key or self.root_key}"}


@pytest.fixture(scope="session")
def stack(database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Gateway and converter processes for the whole test session."""
    logs = tmp_path_factory.mktemp("logs")
    port = free_port()
    env = service_env(database_url, redis_url, port)
    gateway = ServiceProcess("acx_gateway", env, logs / "gateway.log")
    worker = ServiceProcess("acx_converter", env, logs / "converter.log")
    base_url = f"http://127.0.0.1:{port}"
    proc = gateway.start()
    try:
        # Generous: on a loaded 2-core CI machine a first start (imports, migrations) took 62 s.
        wait_http_ok(f"{base_url}/healthz", timeout=100, proc=proc)
    except (RuntimeError, TimeoutError) as exc:
        gateway.stop()
        pytest.fail(f"gateway did not start: {exc}\n{gateway.log_tail()}")
    worker.start()
    yield Stack(base_url, f"{base_url}/api/v1", ROOT_KEY, database_url, redis_url, gateway, worker)
    worker.stop()
    gateway.stop()


@pytest.fixture
def worker_stopped(stack: Stack) -> Iterator[Stack]:
    """The converter is stopped for this test and restarted afterwards."""
    stack.worker.stop()
    yield stack
    stack.worker.start()


@pytest.fixture
def http(stack: Stack) -> Iterator[httpx.Client]:
    """A plain HTTP client authenticated with the root key."""
    with stack.client() as client:
        yield client


@pytest.fixture
async def ahttp(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """An async plain HTTP client authenticated with the root key."""
    async with stack.async_client() as client:
        yield client


def acx_admin(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the operators' `acx-admin` command on the test database (with the tests' pepper)."""
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_PEPPER": PEPPER}
    return subprocess.run(
        [sys.executable, "-m", "acx.admin", *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def new_project_key(database_url: str, name: str) -> str:
    """Create a project with `acx-admin project create` and return the API key it printed."""
    done = acx_admin(database_url, "--json", "project", "create", name)
    assert done.returncode == 0, done.stderr
    key: str = json.loads(done.stdout)["api_key"]
    return key


@pytest.fixture(scope="session")
def other_project_key(stack: Stack) -> str:
    """The API key of a second project (for isolation tests), made as an operator would."""
    return new_project_key(stack.database_url, "other")


@pytest.fixture
def fresh_project_key(stack: Stack) -> str:
    """The API key of a new, empty project (a listing then holds exactly what the test made)."""
    return new_project_key(stack.database_url, "fresh")


@pytest.fixture
def fresh_http(stack: Stack, fresh_project_key: str) -> Iterator[httpx.Client]:
    """A plain HTTP client of `fresh_project_key`'s project."""
    with stack.client(fresh_project_key) as client:
        yield client


@pytest.fixture
def client(stack: Stack) -> Iterator[acontext.AcontextClient]:
    """SDK client of the root project."""
    with sdk_client(stack.api_url, stack.root_key) as c:
        yield c


@pytest.fixture
def other(stack: Stack, other_project_key: str) -> Iterator[acontext.AcontextClient]:
    """SDK client of a second project."""
    with sdk_client(stack.api_url, other_project_key) as c:
        yield c


@pytest.fixture
def session_id(http: httpx.Client) -> str:
    """A fresh session of the root project."""
    response = http.post("/session", json={})
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


@pytest.fixture(params=["missing-session", "other-project"])
def unreachable(
    request: pytest.FixtureRequest, client: acontext.AcontextClient, other: acontext.AcontextClient, session_id: str
) -> tuple[acontext.AcontextClient, str]:
    """(SDK client, session id) the gateway must answer 404 for, one case each: a session that does not
    exist, and the root project's `session_id` asked for by another project."""
    if request.param == "missing-session":
        return client, str(uuid.uuid4())
    return other, session_id


@dataclass
class Gateway:
    """A dedicated gateway process with settings of its own."""

    process: ServiceProcess
    api_url: str


@contextmanager
def running_gateway(stack: Stack, log_dir: Path, **env_overrides: str) -> Iterator[Gateway]:
    """A gateway on the session's databases with extra environment settings, stopped on exit."""
    failures: list[str] = []
    for _attempt in range(2):  # a second try on a new port, should another process take the first
        port = free_port()
        env = service_env(stack.database_url, stack.redis_url, port)
        env.update(env_overrides)
        process = ServiceProcess("acx_gateway", env, log_dir / f"gateway-{port}.log")
        try:
            wait_http_ok(f"http://127.0.0.1:{port}/healthz", proc=process.start())
        except (RuntimeError, TimeoutError) as exc:
            process.stop()
            failures.append(f"{exc}\n{process.log_tail()}")
            continue
        try:
            yield Gateway(process, f"http://127.0.0.1:{port}/api/v1")
        finally:
            process.stop()
        return
    pytest.fail("dedicated gateway did not start:\n" + "\n".join(failures))


@pytest.fixture
def dedicated_gateway(stack: Stack, tmp_path: Path) -> Iterator[Callable[..., Gateway]]:
    """Factory: start a gateway on the session's databases with extra environment settings."""
    with ExitStack() as gateways:
        yield lambda **env: gateways.enter_context(running_gateway(stack, tmp_path, **env))


def unique_user() -> str:
    """A user identifier no other test uses."""
    return f"user-{uuid.uuid4().hex[:12]}@example.com"


def repo_root() -> Path:
    """The repository root."""
    return Path(__file__).resolve().parents[2]
