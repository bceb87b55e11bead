"""A tiny blocking client for the few set-up calls the bench makes (the load itself comes from wrk)."""

from __future__ import annotations

import urllib.request
from typing import Any

import msgspec

__all__ = ["ROOT_KEY", "Api"]

ROOT_KEY = "sk-ac-your-root-api-bearer-token"


class Api:
    """JSON calls to the gateway with the root key."""

    def __init__(self, base_url: str, key: str = ROOT_KEY) -> None:
        self.base_url = base_url.rstrip("/")
        self.key = key

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """`data` of the envelope; raises on a non-2xx answer."""
        data = None if body is None else msgspec.json.encode(body)
        request = urllib.request.Request(
            self.base_url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return msgspec.json.decode(response.read())["data"]

    def create_session(self) -> str:
        """A new session's id."""
        return str(self.call("POST", "/api/v1/session", {})["id"])

    def store(self, session_id: str, blob: dict[str, Any], fmt: str = "openai") -> str:
        """Store one message; returns its id."""
        data = self.call("POST", f"/api/v1/session/{session_id}/messages", {"format": fmt, "blob": blob})
        return str(data["id"])
