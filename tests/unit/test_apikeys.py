"""API-key parsing and HMAC derivation (acontext-api.md §1)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from acx.apikeys import auth_secret, new_token, token_hmac


def test_legacy_token_secret_is_the_body() -> None:
    assert auth_secret("sk-ac-your-root-api-bearer-token") == "your-root-api-bearer-token"


def test_compact_token_secret_is_hex_of_the_auth_bytes() -> None:
    secret = bytes(range(16))
    body = base64.urlsafe_b64encode(b"\x01" + secret + b"k" * 40).rstrip(b"=").decode()
    assert len(body) == 76
    assert auth_secret("sk-ac-" + body) == secret.hex()


def test_non_tokens_have_no_secret() -> None:
    assert auth_secret("sk-ac-") is None
    assert auth_secret("Bearer sk-ac-x") is None
    assert auth_secret("sk-other") is None


def test_hmac_is_keyed_by_the_pepper() -> None:
    expected = hmac.new(b"pepper-1", b"secret", hashlib.sha256).hexdigest()
    assert token_hmac("secret", "pepper-1") == expected
    assert token_hmac("secret", "pepper-2") != expected


def test_new_tokens_are_distinct_and_parse() -> None:
    first, second = new_token(), new_token()
    assert first != second
    assert auth_secret(first) == first.removeprefix("sk-ac-")
