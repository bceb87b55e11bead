"""Signed, expiring public URLs for assets ("material" URLs).

Upstream mints a random token per asset per read and stores it in Redis for 24 h, which grows
Redis with every read. These tokens are stateless instead: the project, the asset hash and the
expiry, signed with HMAC-SHA256 under the server pepper. Nothing is stored; a token cannot be
forged or extended without the pepper.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import time
import uuid
from typing import NamedTuple

__all__ = ["TOKEN_TTL_SECONDS", "Material", "mint", "verify"]

TOKEN_TTL_SECONDS = 24 * 3600
_SIGNATURE_BYTES = 16
_PAYLOAD = struct.Struct(">16s32sQ")


class Material(NamedTuple):
    """What a valid token grants: one asset of one project until `expires_at` (epoch seconds)."""

    project_id: uuid.UUID
    sha256: str
    expires_at: int


def _sign(payload: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode(), b"acx-material\0" + payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def mint(project_id: uuid.UUID, sha256: str, secret: str, now: float | None = None) -> tuple[str, int]:
    """A URL-safe token for the asset, and its expiry (epoch seconds)."""
    expires_at = int(now if now is not None else time.time()) + TOKEN_TTL_SECONDS
    payload = _PAYLOAD.pack(project_id.bytes, bytes.fromhex(sha256), expires_at)
    return base64.urlsafe_b64encode(payload + _sign(payload, secret)).rstrip(b"=").decode(), expires_at


def verify(token: str, secret: str, now: float | None = None) -> Material | None:
    """The material a token grants, or None when it is malformed, forged or expired."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _PAYLOAD.size + _SIGNATURE_BYTES:
        return None
    payload, signature = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
    if not hmac.compare_digest(signature, _sign(payload, secret)):
        return None
    project, digest, expires_at = _PAYLOAD.unpack(payload)
    if expires_at < (now if now is not None else time.time()):
        return None
    return Material(uuid.UUID(bytes=project), digest.hex(), expires_at)
