"""Project API keys: parsing `sk-ac-…` bearer tokens and deriving their lookup HMAC.

Tokens are never stored: a project row holds HMAC-SHA256(pepper, auth secret) as lowercase hex,
which is both the lookup key and the proof of possession (the pepper stays server-side).
Two token bodies exist upstream (acontext-api.md §1.1): the compact 76-char base64url form, whose
auth secret is the hex of bytes 1..17, and the legacy form, whose auth secret is the body itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

__all__ = ["TOKEN_PREFIX", "auth_secret", "new_token", "token_hmac"]

TOKEN_PREFIX = "sk-ac-"  # noqa: S105 - a public prefix, not a secret
_COMPACT_LEN = 76
_COMPACT_BYTES = 57


def auth_secret(token: str) -> str | None:
    """The auth secret of a bearer token, or None when it is not an `sk-ac-` token."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    body = token[len(TOKEN_PREFIX) :]
    if not body:
        return None
    if len(body) == _COMPACT_LEN:
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) == _COMPACT_BYTES and raw[0] == 0x01:
            return raw[1:17].hex()
    return body


def token_hmac(secret: str, pepper: str) -> str:
    """Lookup key stored in `projects.token_hmac`."""
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()


def new_token() -> str:
    """A fresh legacy-form project token (`sk-ac-` + 43 url-safe random characters)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)
