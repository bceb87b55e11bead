"""Safe links, honest metrics, headers on every response (issue 12 rows 1, 3, 7 and item 3)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration._helpers import assert_error_response, message_count
from tests.integration.conftest import Stack, running_gateway
from tests.integration.test_assets import make_png

pytestmark = pytest.mark.integration

SECURITY_HEADERS = ("x-content-type-options", "x-frame-options", "referrer-policy", "content-security-policy")
SCRIPT = b"<script>fetch('/api/v1/session',{headers:{Authorization:localStorage.k}})</script>"


def _store_file(http: httpx.Client, session_id: str, name: str, data: bytes, mime: str) -> str:
    """Store a message with one uploaded file; returns its public material URL."""
    payload = {"format": "acontext", "blob": {"role": "user", "parts": [{"type": "file", "file_field": "f"}]}}
    stored = http.post(
        f"/session/{session_id}/messages", data={"payload": json.dumps(payload)}, files={"f": (name, data, mime)}
    )
    assert stored.status_code == 201, stored.text
    page = http.get(f"/session/{session_id}/messages", params={"format": "acontext"}).json()["data"]
    [public] = [entry["url"] for entry in page["public_urls"].values()]
    return str(public)


@pytest.mark.parametrize(
    ("name", "data", "mime"),
    [
        ("x.html", b"<html><body>" + SCRIPT + b"</body></html>", "text/html"),
        ("x.svg", b'<svg xmlns="http://www.w3.org/2000/svg">' + SCRIPT + b"</svg>", "image/svg+xml"),
        ("x.xml", b"<?xml version='1.0'?><x/>", "application/xhtml+xml"),
        ("x.js", SCRIPT, "text/javascript"),
        ("x.bin", b"<html>" + SCRIPT, "application/octet-stream"),
    ],
)
def test_active_content_is_never_served_inline(
    http: httpx.Client, session_id: str, name: str, data: bytes, mime: str
) -> None:
    """Opening the public link of an uploaded HTML/SVG must not run it in the API origin (stored XSS)."""
    response = httpx.get(_store_file(http, session_id, name, data + uuid.uuid4().bytes, mime), timeout=10)
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "sandbox" in csp
    assert "script-src" not in csp


def test_inert_images_stay_inline(http: httpx.Client, session_id: str) -> None:
    response = httpx.get(_store_file(http, session_id, "a.png", make_png(uuid.uuid4().hex), "image/png"), timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"] == "inline"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in response.headers["content-security-policy"]


def test_multipart_store_with_idempotency_key_is_stored_once(http: httpx.Client, session_id: str) -> None:
    """Used to be `500 stream consumed` every time: retry-safe uploads were impossible."""
    payload = {"format": "acontext", "blob": {"role": "user", "parts": [{"type": "file", "file_field": "f"}]}}
    png = make_png(uuid.uuid4().hex)
    key = {"Idempotency-Key": f"upload-{uuid.uuid4()}"}

    def send() -> httpx.Response:
        return http.post(
            f"/session/{session_id}/messages",
            data={"payload": json.dumps(payload)},
            files={"f": ("a.png", png, "image/png")},
            headers=key,
        )

    first, again = send(), send()
    assert first.status_code == 201, first.text
    assert again.status_code == 201, again.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    assert message_count(http, session_id) == 1
    other = http.post(
        f"/session/{session_id}/messages",
        data={"payload": json.dumps(payload)},
        files={"f": ("a.png", make_png("other"), "image/png")},
        headers=key,
    )
    assert_error_response(other, 422)
    assert message_count(http, session_id) == 1


def _requests_total(base_url: str, route: str, status: str) -> float:
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    pattern = re.compile(
        r'^acx_http_requests_total\{(?=[^}]*route="' + re.escape(route) + r'")(?=[^}]*status="' + status + r'")'
        r"[^}]*\} ([0-9.e+]+)$",
        re.MULTILINE,
    )
    return sum(float(value) for value in pattern.findall(text))


def _assert_stamped(response: httpx.Response) -> None:
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers.get("x-request-id", "")), response.headers
    for name in SECURITY_HEADERS:
        assert name in response.headers, f"{name} missing on {response.status_code} {response.url}"


def test_401_is_counted_as_401_and_carries_a_request_id(stack: Stack) -> None:
    before_401 = _requests_total(stack.base_url, "/api/v1/ping", "401")
    before_500 = _requests_total(stack.base_url, "/api/v1/ping", "500")
    response = httpx.get(f"{stack.api_url}/ping", timeout=10)
    assert_error_response(response, 401)
    _assert_stamped(response)
    assert _requests_total(stack.base_url, "/api/v1/ping", "401") == before_401 + 1
    assert _requests_total(stack.base_url, "/api/v1/ping", "500") == before_500


@pytest.mark.parametrize(
    ("path", "status"),
    [("/healthz", 200), ("/api/v1/ping", 401), ("/no/such/route", 404), ("/openapi.json", 200)],
)
def test_every_response_carries_the_security_headers(stack: Stack, path: str, status: int) -> None:
    response = httpx.get(f"{stack.base_url}{path}", timeout=10)
    assert response.status_code == status
    _assert_stamped(response)
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_client_request_id_is_echoed(stack: Stack) -> None:
    response = httpx.get(f"{stack.api_url}/ping", headers={"X-Request-ID": "trace-42"}, timeout=10)
    assert response.headers["x-request-id"] == "trace-42"


@pytest.fixture(scope="module")
def limited(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway allowing one request per second with bursts of 2; yields its base URL."""
    logs: Path = tmp_path_factory.mktemp("limited")
    with running_gateway(stack, logs, RATE_LIMIT_RPS="1", RATE_LIMIT_BURST="2") as gateway:
        yield gateway.api_url.removesuffix("/api/v1")


def test_429_is_counted_as_429_and_carries_a_request_id(limited: str, stack: Stack) -> None:
    headers = {"Authorization": f"Bearer {stack.root_key}"}
    responses = [httpx.get(f"{limited}/api/v1/ping", headers=headers, timeout=10) for _ in range(6)]
    throttled = [response for response in responses if response.status_code == 429]
    assert throttled, [response.status_code for response in responses]
    for response in throttled:
        assert_error_response(response, 429)
        assert int(response.headers["retry-after"]) >= 1
        _assert_stamped(response)
    assert _requests_total(limited, "/api/v1/ping", "429") == len(throttled)
    assert _requests_total(limited, "/api/v1/ping", "500") == 0
