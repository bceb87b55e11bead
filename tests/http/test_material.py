"""Signed public links to uploaded files (issue 12 row 1): active content is never served inline,
inert images are, and a token altered anywhere is 404."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest

from tests.http._helpers import assert_error_response, make_png, store_upload
from tests.http.conftest import Client

SCRIPT = b"<script>fetch('/api/v1/session',{headers:{Authorization:localStorage.k}})</script>"


async def _public_url(client: Client, session_id: str, name: str, data: bytes, mime: str) -> str:
    """Store a message with one uploaded file; its public material URL."""
    blob = {"role": "user", "parts": [{"type": "file", "file_field": "f"}]}
    stored = await store_upload(client, session_id, blob, {"f": (name, data, mime)})
    assert stored.status_code == 201, stored.text
    page = (await client.get(f"/session/{session_id}/messages", params={"format": "acontext"})).json()["data"]
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
    ids=["html", "svg", "xhtml", "js", "sniffable-bin"],
)
async def test_active_content_is_never_served_inline(
    client: Client, anonymous: httpx.AsyncClient, session_id: str, name: str, data: bytes, mime: str
) -> None:
    """Opening the public link of an uploaded HTML/SVG must not run it in the API origin (stored XSS)."""
    response = await anonymous.get(await _public_url(client, session_id, name, data + uuid.uuid4().bytes, mime))
    assert response.status_code == 200
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "sandbox" in csp
    assert "script-src" not in csp


async def test_inert_images_stay_inline(client: Client, anonymous: httpx.AsyncClient, session_id: str) -> None:
    png = make_png(uuid.uuid4().hex)
    response = await anonymous.get(await _public_url(client, session_id, "a.png", png, "image/png"))
    assert response.status_code == 200
    assert response.content == png
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-disposition"] == "inline"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'none'" in response.headers["content-security-policy"]


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: _flip(token, len(token) - 1),
        lambda token: _flip(token, 0),
        lambda token: _flip(token, len(token) // 2),
        lambda token: token[:-2],
        lambda token: "0" * 64,
    ],
    ids=["last-char", "first-char", "middle-char", "truncated", "made-up"],
)
async def test_public_url_tampering_is_404(
    client: Client, anonymous: httpx.AsyncClient, session_id: str, forge: Callable[[str], str]
) -> None:
    """A token altered anywhere, or made up, is 404; the genuine one still works."""
    png = make_png(uuid.uuid4().hex)
    url = await _public_url(client, session_id, "a.png", png, "image/png")
    base, token = url.rsplit("/", 1)
    assert base.endswith("/api/v1/material")
    assert_error_response(await anonymous.get(f"{base}/{forge(token)}"), 404)
    assert (await anonymous.get(url)).content == png
