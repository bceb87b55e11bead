"""The gateway's `/metrics` (route templates, stored/read counters, cache lookups, pool gauges) and
its probes, in-process. The registry is the test process's: every check compares a before and an
after. What only processes show (the converter's port, a real Prometheus scraping several of them)
is in tests/integration."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.http._helpers import assert_error_response, assert_stamped, samples, total
from tests.http.conftest import BASE_URL, METRICS, Client

REQUESTS = "acx_http_requests_total"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def test_gateway_metrics(client: Client) -> None:
    """Route templates (never raw ids), stored/read counters, cache lookups and pool gauges."""
    before = samples(await client.get(METRICS))
    session_id = (await client.post("/session", json={})).json()["data"]["id"]
    stored = 4
    for i in range(stored):
        response = await client.post(
            f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": f"m{i}"}}
        )
        assert response.is_success
    for fmt in ("openai", "anthropic"):
        assert (await client.get(f"/session/{session_id}/messages", params={"format": fmt})).status_code == 200
    assert (await client.get(f"/session/{session_id}/messages", params={"format": "bogus"})).status_code == 400
    raw = (await client.get(METRICS)).text
    after = samples(await client.get(METRICS))

    templates = {labels["route"] for labels, _ in after["acx_http_requests_total"]}
    # Litestar reports the template without the `:str` type; either spelling is a template.
    [route] = templates & {"/api/v1/session/{session}/messages", "/api/v1/session/{session:str}/messages"}
    assert (
        total(after, "acx_http_requests_total", route=route, method="POST", status="201")
        - total(before, "acx_http_requests_total", route=route, method="POST", status="201")
        == stored
    )
    assert total(after, "acx_http_requests_total", route=route, method="GET", status="400") >= 1
    assert total(after, "acx_http_request_duration_seconds_count", route=route, method="POST") >= stored
    assert session_id not in raw, "a raw session id leaked into metric labels"
    assert "/api/v1/session" in templates
    assert not [r for r in templates if _UUID.search(r)], templates  # no ids, only templates

    assert (
        total(after, "acx_messages_stored_total", format="openai")
        - total(before, "acx_messages_stored_total", format="openai")
        == stored
    )
    for fmt in ("openai", "anthropic"):
        read = total(after, "acx_messages_read_total", format=fmt) - total(
            before, "acx_messages_read_total", format=fmt
        )
        assert read == stored, fmt
    lookups = total(after, "acx_rendering_cache_lookups_total") - total(before, "acx_rendering_cache_lookups_total")
    assert lookups == 2 * stored
    assert {labels["result"] for labels, _ in after["acx_rendering_cache_lookups_total"]} <= {"hit", "miss"}
    pool_states = {labels["state"]: value for labels, value in after["acx_db_pool_connections"]}
    assert set(pool_states) == {"used", "idle"}
    assert pool_states["used"] + pool_states["idle"] >= 1
    assert total(after, "acx_db_pool_max") >= 1


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
async def test_probes_are_unauthenticated(anonymous: httpx.AsyncClient, path: str) -> None:
    response = await anonymous.get(f"{BASE_URL}{path}")
    assert response.status_code == 200, response.text
    assert response.json()["code"] == 0


async def test_401_is_counted_as_401_and_carries_a_request_id(client: Client, anonymous: httpx.AsyncClient) -> None:
    """An unauthenticated request is counted under its own status, not as a 500 (issue 12 row 3)."""
    before = samples(await client.get(METRICS))
    response = await anonymous.get("/ping")
    assert_error_response(response, 401)
    assert_stamped(response)
    after = samples(await client.get(METRICS))
    for status, added in (("401", 1), ("500", 0)):
        labels = {"route": "/api/v1/ping", "status": status}
        assert total(after, REQUESTS, **labels) - total(before, REQUESTS, **labels) == added, status


async def test_metrics_are_unauthenticated_and_the_api_is_not(anonymous: httpx.AsyncClient) -> None:
    assert (await anonymous.get(METRICS)).status_code == 200
    assert (await anonymous.get("/ping")).status_code == 401
