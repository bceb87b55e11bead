"""Helpers shared by the in-process HTTP tests (and reused by `tests/integration`): error envelopes,
projects made the way `acx-admin` makes them, and valid uploads that nobody else uploads."""

from __future__ import annotations

import hashlib
import json
import re
import struct
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import psycopg
from prometheus_client.parser import text_string_to_metric_families

from acx.apikeys import auth_secret, new_token, token_hmac
from acx.config import Settings
from acx.db.projects import create_project

__all__ = [
    "Samples",
    "asgi_scope",
    "assert_error_response",
    "assert_stamped",
    "make_pdf",
    "make_png",
    "message_count",
    "new_project_key",
    "samples",
    "sha",
    "store_upload",
    "total",
]

SECURITY_HEADERS = ("x-content-type-options", "x-frame-options", "referrer-policy", "content-security-policy")

#: Sample name -> [(labels, value)] of a Prometheus text exposition.
Samples = dict[str, list[tuple[dict[str, str], float]]]


def asgi_scope(
    method: str, path: str, bearer: str, headers: Sequence[tuple[bytes, bytes]] = (), *, query: bytes = b""
) -> dict[str, Any]:
    """The scope a server sends for an HTTP request, for tests that call the ASGI app directly."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver.local"), (b"authorization", f"Bearer {bearer}".encode()), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
        "state": {},
    }


def assert_error_response(response: httpx.Response, status: int, error_code: str | None = None) -> None:
    """An error envelope with HTTP `status` (and `data.error_code` when given)."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text}"
    body = response.json()
    assert body["code"] == status, body
    assert isinstance(body["msg"], str), body
    assert body["msg"], body
    if error_code is not None:
        assert (body.get("data") or {}).get("error_code") == error_code, body


def assert_stamped(response: httpx.Response) -> None:
    """The response carries a request id and every security header."""
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers.get("x-request-id", "")), response.headers
    for name in SECURITY_HEADERS:
        assert name in response.headers, f"{name} missing on {response.status_code} {response.url}"


async def message_count(client: httpx.AsyncClient, session_id: str) -> int:
    """How many stored messages a session has (distinct ids of a full read)."""
    response = await client.get(f"/session/{session_id}/messages", params={"format": "acontext"})
    assert response.status_code == 200, response.text
    return len(set(response.json()["data"]["ids"]))


async def new_project_key(settings: Settings, database_url: str, name: str) -> str:
    """Create a project as `acx-admin project create` does (same SQL, same key HMAC); its API key."""
    token = new_token()
    secret = auth_secret(token)
    assert secret is not None
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await create_project(conn, name, token_hmac(secret, settings.secret_pepper))
    return token


async def store_upload(
    client: httpx.AsyncClient,
    session_id: str,
    blob: dict[str, Any],
    files: Mapping[str, tuple[str, bytes, str]],
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """Store an acontext `blob` with uploaded files, as the SDK sends it (form field `payload` + files)."""
    payload = json.dumps({"format": "acontext", "blob": blob})
    return await client.post(f"/session/{session_id}/messages", data={"payload": payload}, files=files, headers=headers)


def make_png(tag: str) -> bytes:
    """A valid 1x1 RGB PNG carrying `tag` in a tEXt chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x80\x00")  # filter byte + one RGB pixel
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", b"Comment\x00" + tag.encode())
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


def make_pdf(tag: str) -> bytes:
    """A valid one-page PDF (correct xref offsets) whose header comment carries `tag`."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >>",
    ]
    out = b"%PDF-1.4\n%" + tag.encode() + b"\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def sha(data: bytes) -> str:
    """Hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def samples(response: httpx.Response) -> Samples:
    """The samples of a `/metrics` answer (which must be a 200 in the text format)."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    out: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def total(scraped: Samples, name: str, **labels: str) -> float:
    """Sum of `name` over samples whose labels include `labels`."""
    return sum(value for have, value in scraped.get(name, []) if labels.items() <= have.items())
