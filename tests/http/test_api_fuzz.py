"""API fuzzing in-process: schemathesis drives every operation of the served OpenAPI document
against the ASGI app (no server, no socket), one test per operation, then stateful sequences.

All of schemathesis' checks run (no 5xx, documented status codes, content types, response
schemas and headers, `Allow` on OPTIONS, negative-data rejection, auth enforcement) except
`positive_data_acceptance`: opaque cursors, JSON carried in query strings and message blobs have
validity rules (pairing with earlier tool calls, base64, cursor signatures) that JSON Schema
cannot express, so "schema-valid" does not imply "acceptable" there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from litestar import Litestar
from litestar.types import Receive, Scope, Send
from schemathesis import Case
from schemathesis.checks import CheckFunction
from schemathesis.core.transport import Response
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import positive_data_acceptance

from acx.config import Settings, load_settings
from acx_gateway.app import create_app
from tests.http.conftest import BASE_URL, ROOT_KEY

AUTH = {"Authorization": f"Bearer {ROOT_KEY}"}
EXCLUDED: list[CheckFunction] = [positive_data_acceptance]
# Two seeds of 25 examples each ran over a socket before; one derandomised run of 50 here.
FUZZ = hypothesis_settings(
    max_examples=50, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)


class _AppOfTheModule:
    """The ASGI app schemathesis sends to, known at collection; the app behind it is `fuzz_app`'s."""

    app: Litestar | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "requests before the fuzz_app fixture ran"
        await self.app(scope, receive, send)


# The document is Litestar's, built from the routes without any server (as `/openapi.json` serves
# it, which `test_the_served_document_is_the_one_fuzzed` checks), so the operations are known at
# collection: one test per operation.
DOCUMENT = create_app(load_settings({"DATABASE_URL": "postgresql://collect/only", "REDIS_URL": "redis://collect"}))
TARGET = _AppOfTheModule()
schema = schemathesis.openapi.from_dict(DOCUMENT.openapi_schema.to_schema())
schema.app = TARGET
# The key as configuration (the CLI's --header: negative cases leave it alone) and again on each call
# (so the auth checks count it as given, not generated, and probe without it).
schema.config.update(base_url="http://testserver", headers=AUTH)


@pytest.fixture(scope="module")
def fuzz_app(settings: Settings) -> Iterator[None]:
    """An app of its own on the test databases. Schemathesis starts its lifespan on the first request
    and ends it after each test."""
    TARGET.app = create_app(settings)
    yield
    shutdown_lifespans()
    TARGET.app = None


@schema.parametrize()
@FUZZ
@pytest.mark.usefixtures("fuzz_app")
def test_every_operation_conforms_to_the_schema(case: Case[Any]) -> None:
    """Generated requests (valid and invalid) get documented, well-formed, non-5xx answers."""
    case.call_and_validate(headers=AUTH, excluded_checks=EXCLUDED)


async def test_the_served_document_is_the_one_fuzzed(anonymous: httpx.AsyncClient) -> None:
    served = (await anonymous.get(f"{BASE_URL}/openapi.json")).json()
    assert served == DOCUMENT.openapi_schema.to_schema()
    assert sum(len(item) for item in served["paths"].values()) >= 23


@pytest.mark.usefixtures("fuzz_app")
def test_stateful_sequences_conform() -> None:
    """Sequences that feed one answer's ids into the next request (create, then read, copy, delete)."""

    class Sequences(schema.as_state_machine()):  # type: ignore[misc]
        def validate_response(self, response: Response, case: Case[Any], **kwargs: Any) -> None:
            case.validate_response(response, excluded_checks=EXCLUDED, transport_kwargs=kwargs)

    Sequences.run(settings=hypothesis_settings(FUZZ, max_examples=25, stateful_step_count=10))
