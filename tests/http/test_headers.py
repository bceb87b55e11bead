"""Headers on every response (issue 12 row 7): a request id and the security headers, on errors too."""

from __future__ import annotations

import httpx
import pytest

from tests.http._helpers import assert_stamped
from tests.http.conftest import BASE_URL


@pytest.mark.parametrize(
    ("path", "status"),
    [("/healthz", 200), ("/api/v1/ping", 401), ("/no/such/route", 404), ("/openapi.json", 200)],
)
async def test_every_response_carries_the_security_headers(
    anonymous: httpx.AsyncClient, path: str, status: int
) -> None:
    response = await anonymous.get(f"{BASE_URL}{path}")
    assert response.status_code == status
    assert_stamped(response)
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_client_request_id_is_echoed(anonymous: httpx.AsyncClient) -> None:
    response = await anonymous.get("/ping", headers={"X-Request-ID": "trace-42"})
    assert response.headers["x-request-id"] == "trace-42"
