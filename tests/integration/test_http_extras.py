"""HTTP behaviour outside the SDK's surface, driven with plain httpx: Idempotency-Key on creates,
per-project rate limiting (on a dedicated gateway), Prometheus metrics, and the probes."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration._helpers import assert_error_response, message_count, poll
from tests.integration.conftest import Stack, new_project_key, running_gateway, unique_user

pytestmark = pytest.mark.integration

RATE_RPS = 5
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
RATE_BURST = 5


def new_project(database_url: str, name: str) -> str:
    """Create a project with acx-admin and return its API key."""
    return new_project_key(database_url, name)


# --------------------------------------------------------------------------------------------
# Idempotency-Key
# --------------------------------------------------------------------------------------------


async def test_concurrent_message_posts_with_one_key_store_once(ahttp: httpx.AsyncClient, session_id: str) -> None:
    """50 concurrent POSTs with one key: one write; the rest are 201 replays or 409 while it runs."""
    key = f"msg-{uuid.uuid4()}"
    body = {"format": "openai", "blob": {"role": "user", "content": "exactly once"}, "meta": {"n": 1}}
    path = f"/session/{session_id}/messages"
    responses = await asyncio.gather(
        *(ahttp.post(path, json=body, headers={"Idempotency-Key": key}) for _ in range(50))
    )
    statuses = sorted({r.status_code for r in responses})
    assert set(statuses) <= {201, 409}, [r.text for r in responses if r.status_code not in (201, 409)]
    created = [r for r in responses if r.status_code == 201]
    originals = [r for r in created if r.headers.get("Idempotent-Replayed") != "true"]
    assert len(originals) == 1, [dict(r.headers) for r in created]
    message_id = originals[0].json()["data"]["id"]
    assert {r.json()["data"]["id"] for r in created} == {message_id}
    for conflict in (r for r in responses if r.status_code == 409):
        assert_error_response(conflict, 409)

    replay = await ahttp.post(path, json=body, headers={"Idempotency-Key": key})
    assert replay.status_code == 201, replay.text
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == originals[0].json()

    page = (await ahttp.get(path, params={"format": "openai"})).json()["data"]
    assert page["ids"] == [message_id]
    assert page["items"] == [{"role": "user", "content": "exactly once"}]

    different = await ahttp.post(
        path, json={**body, "blob": {"role": "user", "content": "changed"}}, headers={"Idempotency-Key": key}
    )
    assert_error_response(different, 422)
    other_session = (await ahttp.post("/session", json={})).json()["data"]["id"]
    elsewhere = await ahttp.post(f"/session/{other_session}/messages", json=body, headers={"Idempotency-Key": key})
    assert_error_response(elsewhere, 422)
    fresh = await ahttp.post(path, json=body, headers={"Idempotency-Key": f"{key}-2"})
    assert fresh.status_code == 201
    assert "Idempotent-Replayed" not in fresh.headers
    without = await ahttp.post(path, json=body)
    assert without.status_code == 201
    ids = (await ahttp.get(path, params={"format": "openai"})).json()["data"]["ids"]
    assert ids == [message_id, fresh.json()["data"]["id"], without.json()["data"]["id"]]


async def test_concurrent_session_creates_with_one_key(ahttp: httpx.AsyncClient) -> None:
    """50 concurrent POST /session with one key create exactly one session."""
    key = f"session-{uuid.uuid4()}"
    user = unique_user()
    body = {"user": user, "configs": {"k": "v"}}
    responses = await asyncio.gather(
        *(ahttp.post("/session", json=body, headers={"Idempotency-Key": key}) for _ in range(50))
    )
    assert {r.status_code for r in responses} <= {201, 409}, [r.text for r in responses]
    created = [r for r in responses if r.status_code == 201]
    assert len([r for r in created if r.headers.get("Idempotent-Replayed") != "true"]) == 1
    assert len({r.json()["data"]["id"] for r in created}) == 1
    listing = (await ahttp.get("/session", params={"user": user, "limit": 200})).json()["data"]
    assert [s["id"] for s in listing["items"]] == [created[0].json()["data"]["id"]]
    assert_error_response(await ahttp.post("/session", json={"user": user}, headers={"Idempotency-Key": key}), 422)


@pytest.mark.parametrize(
    "key",
    [b"x" * 256, "clé-ünïcode".encode(), b""],
    ids=["too-long", "non-ascii", "empty"],
)
def test_invalid_idempotency_key_is_400(http: httpx.Client, session_id: str, key: bytes) -> None:
    """A key that is empty, longer than 255 characters or not printable ASCII is 400; nothing stored."""
    body = {"format": "openai", "blob": {"role": "user", "content": "x"}}
    headers = {b"Idempotency-Key": key}
    response = http.post(f"/session/{session_id}/messages", json=body, headers=headers)
    assert_error_response(response, 400)
    assert_error_response(http.post("/session", json={}, headers=headers), 400)
    assert message_count(http, session_id) == 0
    longest = uuid.uuid4().hex.ljust(255, "k")
    ok = http.post(f"/session/{session_id}/messages", json=body, headers={"Idempotency-Key": longest})
    assert ok.status_code == 201, ok.text


def test_idempotency_keys_are_per_project(http: httpx.Client, stack: Stack, other_project_key: str) -> None:
    """The same key in another project is an independent write."""
    key = f"shared-{uuid.uuid4()}"
    mine = http.post("/session", json={}, headers={"Idempotency-Key": key})
    assert mine.status_code == 201
    with httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {other_project_key}"}) as other:
        theirs = other.post("/session", json={}, headers={"Idempotency-Key": key})
    assert theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["data"]["id"] != mine.json()["data"]["id"]
    assert theirs.json()["data"]["project_id"] != mine.json()["data"]["project_id"]


# --------------------------------------------------------------------------------------------
# Rate limit
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited_api(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second gateway on the same databases with RATE_LIMIT_RPS=5, RATE_LIMIT_BURST=5."""
    logs = tmp_path_factory.mktemp("rate-limited")
    with running_gateway(stack, logs, RATE_LIMIT_RPS=str(RATE_RPS), RATE_LIMIT_BURST=str(RATE_BURST)) as gateway:
        yield gateway.api_url


def test_rate_limit_per_project(limited_api: str, stack: Stack) -> None:
    """The 6th immediate request is 429 with Retry-After; another project is unaffected; it recovers."""
    key_a = new_project(stack.database_url, "rate-a")
    key_b = new_project(stack.database_url, "rate-b")
    with (
        httpx.Client(base_url=limited_api, headers={"Authorization": f"Bearer {key_a}"}, timeout=10) as a,
        httpx.Client(base_url=limited_api, headers={"Authorization": f"Bearer {key_b}"}, timeout=10) as b,
    ):
        a.get("/ping")  # warm the connection and the key cache, then let the bucket refill
        b.get("/ping")
        time.sleep(1.2)
        started = time.monotonic()
        responses = [a.get("/ping") for _ in range(2 * RATE_BURST)]
        elapsed = time.monotonic() - started
        statuses = [r.status_code for r in responses]
        assert statuses[:RATE_BURST] == [200] * RATE_BURST, statuses
        # GCRA: a burst of 5, plus one more request per 1/RATE_RPS seconds that elapsed meanwhile.
        assert statuses.count(200) <= RATE_BURST + int(elapsed * RATE_RPS), (statuses, elapsed)
        assert 429 in statuses, statuses
        limited = responses[statuses.index(429)]
        assert_error_response(limited, 429)
        retry_after = int(limited.headers["Retry-After"])
        assert 1 <= retry_after <= 2
        post_status = a.post("/session", json={}).status_code  # every route counts
        if time.monotonic() - started < 1 / RATE_RPS:  # nothing refilled yet (always, unless the host stalls)
            assert statuses[RATE_BURST] == 429, statuses  # the 6th immediate request
            assert post_status == 429

        assert b.get("/ping").status_code == 200  # another project has its own budget
        assert httpx.get(f"{limited_api.removesuffix('/api/v1')}/healthz").status_code == 200  # probes unlimited

        time.sleep(retry_after)
        assert a.get("/ping").status_code == 200
        sustained = []
        for _ in range(6):  # under the rate: never limited
            sustained.append(a.get("/ping").status_code)
            time.sleep(1.2 / RATE_RPS)
        assert sustained == [200] * 6


# --------------------------------------------------------------------------------------------
# Metrics and probes
# --------------------------------------------------------------------------------------------


def scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Sample name -> [(labels, value)] of a Prometheus text exposition."""
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def total(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    """Sum of `name` over samples whose labels include `labels`."""
    return sum(value for have, value in samples.get(name, []) if labels.items() <= have.items())


def test_gateway_metrics(stack: Stack, http: httpx.Client) -> None:
    """Route templates (never raw ids), stored/read counters, cache lookups and pool gauges."""
    url = f"{stack.base_url}/metrics"
    before = scrape(url)
    session_id = http.post("/session", json={}).json()["data"]["id"]
    stored = 4
    for i in range(stored):
        assert http.post(
            f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": f"m{i}"}}
        ).is_success
    for fmt in ("openai", "anthropic"):
        assert http.get(f"/session/{session_id}/messages", params={"format": fmt}).status_code == 200
    assert http.get(f"/session/{session_id}/messages", params={"format": "bogus"}).status_code == 400
    raw = httpx.get(url, timeout=10).text
    after = scrape(url)

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
        assert (
            total(after, "acx_messages_read_total", format=fmt) - total(before, "acx_messages_read_total", format=fmt)
            == stored
        )
    lookups = total(after, "acx_rendering_cache_lookups_total") - total(before, "acx_rendering_cache_lookups_total")
    assert lookups == 2 * stored
    assert {labels["result"] for labels, _ in after["acx_rendering_cache_lookups_total"]} <= {"hit", "miss"}
    pool_states = {labels["state"]: value for labels, value in after["acx_db_pool_connections"]}
    assert set(pool_states) == {"used", "idle"}
    assert pool_states["used"] + pool_states["idle"] >= 1
    assert total(after, "acx_db_pool_max") >= 1


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def test_worker_metrics(stack: Stack, http: httpx.Client) -> None:
    """The converter's port exposes render job outcomes and the queue depth."""
    url = f"http://127.0.0.1:{stack.worker.env['WORKER_METRICS_PORT']}/metrics"
    assert poll(lambda: _answers(url), timeout=30), "worker metrics port never answered"
    before = total(scrape(url), "acx_render_jobs_total", outcome="done")
    session_id = http.post("/session", json={}).json()["data"]["id"]
    for i in range(3):
        assert http.post(
            f"/session/{session_id}/messages", json={"blob": {"role": "user", "content": f"w{i}"}}
        ).is_success
    assert poll(lambda: total(scrape(url), "acx_render_jobs_total", outcome="done") >= before + 3, timeout=30)
    samples = scrape(url)
    assert "acx_queue_depth" in samples
    assert samples["acx_queue_depth"][0][1] >= 0
    assert "acx_render_duration_seconds_count" in samples


def test_probes_are_unauthenticated(stack: Stack) -> None:
    """/healthz, /readyz and /metrics answer without a key; the API itself does not."""
    for path in ("/healthz", "/readyz"):
        response = httpx.get(f"{stack.base_url}{path}", timeout=10)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["code"] == 0
    assert httpx.get(f"{stack.base_url}/metrics", timeout=10).status_code == 200
    assert httpx.get(f"{stack.api_url}/ping", timeout=10).status_code == 401
