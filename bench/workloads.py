"""HTTP workloads against the running gateway (or the baseline app), all driven by wrk."""

from __future__ import annotations

import json
import tempfile
import urllib.parse
import uuid
from pathlib import Path

import psycopg

from acx.cursor import encode_cursor
from bench.api import ROOT_KEY
from bench.data import openai_conversation
from bench.wrk import LoadShape, WrkResult, run_wrk

__all__ = [
    "api_ping",
    "convert",
    "get_page",
    "middle_cursor",
    "ping",
    "store_messages",
]


def ping(base: str, shape: LoadShape) -> WrkResult:
    """GET /ping (the baseline app's only route)."""
    return run_wrk(base + "/ping", "get.lua", [], shape)


def api_ping(base: str, shape: LoadShape) -> WrkResult:
    """GET /api/v1/ping through the gateway's whole stack (middleware, auth, envelope)."""
    return run_wrk(base + "/api/v1/ping", "get.lua", [ROOT_KEY], shape)


def store_messages(base: str, sessions: list[str], shape: LoadShape) -> WrkResult:
    """POST /session/{id}/messages with unique OpenAI text messages, round-robin over `sessions`."""
    return run_wrk(base + "/api/v1/session", "store.lua", [ROOT_KEY, *sessions], shape)


def get_page(
    base: str, session: str, fmt: str, shape: LoadShape, *, limit: int = 100, extra: dict[str, str] | None = None
) -> WrkResult:
    """GET /session/{id}/messages?format=…&limit=… (plus `extra` query parameters)."""
    query = urllib.parse.urlencode({"format": fmt, "limit": str(limit), **(extra or {})})
    return run_wrk(f"{base}/api/v1/session/{session}/messages?{query}", "get.lua", [ROOT_KEY], shape)


def convert(base: str, shape: LoadShape, source: str = "openai", target: str = "anthropic") -> WrkResult:
    """POST /convert of the bench conversation (9 OpenAI messages) to `target`."""
    body = {"from": source, "to": target, "input": openai_conversation()}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(body, handle)
        path = Path(handle.name)
    try:
        return run_wrk(base + "/api/v1/convert", "post.lua", [ROOT_KEY, str(path)], shape)
    finally:
        path.unlink()


def middle_cursor(database_url: str, session: str) -> str:
    """A cursor that starts the page in the middle of the session (keyset on seq)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT seq, id FROM messages WHERE session_id = (SELECT id FROM sessions WHERE public_id = %s)"
            " AND seq = (SELECT (min(seq) + max(seq)) / 2 FROM messages WHERE session_id ="
            " (SELECT id FROM sessions WHERE public_id = %s))",
            (uuid.UUID(session), uuid.UUID(session)),
        ).fetchone()
    if row is None:
        raise RuntimeError(f"session {session} is empty")
    return encode_cursor("m", int(row[0]), row[1], uuid.UUID(session))
