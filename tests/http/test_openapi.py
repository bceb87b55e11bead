"""The served OpenAPI document covers every route, parameter and status of the app.

The document is built by Litestar from the handlers; these tests walk the app's own routing table
so that a route added without its parameters or statuses documented fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from acx.config import load_settings
from acx_gateway.app import create_app
from tests.http.conftest import Client

_SKIPPED_METHODS = {"OPTIONS", "HEAD"}
_ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorEnvelope"}


Operation = tuple[str, str, Any, Any]


def _documented_operations(app: Litestar) -> list[Operation]:
    """(path, method, handler, kwargs model) of every route handler that belongs in the document."""
    operations = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, kwargs_model) in route.route_handler_map.items():
            if method in _SKIPPED_METHODS or handler.resolve_include_in_schema() is False:
                continue
            operations.append((route.path_format, method.lower(), handler, kwargs_model))
    return operations


@pytest.fixture(scope="module")
async def document(client: Client) -> dict[str, Any]:
    response = await client.get("http://testserver.local/openapi.json", headers={"Authorization": ""})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


# Routes are known without servers (the lifespan is what connects), so the cases can be listed
# at collection time, one test per operation.
OPERATIONS = _documented_operations(
    create_app(load_settings({"DATABASE_URL": "postgresql://collect/only", "REDIS_URL": "redis://collect"}))
)


def test_every_route_is_documented(app: Litestar, document: dict[str, Any]) -> None:
    """Each route and method of the app has an operation in the document, and nothing else does."""
    routed = {(path, method) for path, method, _, _ in _documented_operations(app)}
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routed - documented == set(), "routes missing from the document"
    assert documented - routed == set(), "documented operations no route serves"
    assert len(routed) >= 20


@pytest.mark.parametrize("operation", OPERATIONS, ids=[f"{m.upper()} {p}" for p, m, _, _ in OPERATIONS])
def test_every_parameter_and_status_is_documented(document: dict[str, Any], operation: Operation) -> None:
    """Each parameter a handler (or its dependencies) reads, and each status it can answer, is documented."""
    path, method, handler, kwargs_model = operation
    spec = document["paths"][path][method]
    expected_params = {
        (definition.field_alias, definition.param_type.value)
        for definition in (
            kwargs_model.expected_path_params | kwargs_model.expected_query_params | kwargs_model.expected_header_params
        )
    }
    documented_params = {(param["name"], param["in"]) for param in spec.get("parameters", [])}
    assert expected_params - documented_params == set(), f"{method.upper()} {path}: parameters missing"

    statuses = set(spec["responses"])
    expected = {str(handler.status_code)}
    if expected_params or "requestBody" in spec:
        expected.add("400")
    if path.startswith("/api/v1/session/{session}"):
        expected.add("404")
    # Behind BearerAuthMiddleware: everything under /api/v1 except the signed public material URL.
    authenticated = path.startswith("/api/v1/") and not path.startswith("/api/v1/material/")
    assert spec.get("security") == ([{"bearer": []}] if authenticated else None), f"security of {path}"
    expected |= {"401", "429", "503"} if authenticated else {"503"}
    assert expected - statuses == set(), f"{method.upper()} {path}: statuses missing"
    for status, response in spec["responses"].items():
        if int(status) >= 400:
            assert response["content"]["application/json"]["schema"] == _ERROR_SCHEMA, f"{status} of {path}"
