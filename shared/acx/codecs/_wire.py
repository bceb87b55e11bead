"""Helpers for walking decoded JSON with precise error paths."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from acx.errors import DecodeError

JsonObj = dict[str, Any]


def join(path: str, key: str | int) -> str:
    """Extend a JSON path: ``join("content", 2)`` → ``content[2]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def obj(value: object, path: str, what: str = "message") -> JsonObj:
    """``value`` as a JSON object, else ``blob_not_object``."""
    if not isinstance(value, Mapping):
        raise DecodeError("blob_not_object", f"{what} must be a JSON object", path)
    return dict(value)


def field_obj(blob: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> JsonObj | None:
    value = blob.get(key)
    if value is None:
        if required:
            raise DecodeError("invalid_blob", f"missing object field {key!r}", join(path, key))
        return None
    if not isinstance(value, Mapping):
        raise DecodeError("invalid_blob", f"{key!r} must be an object", join(path, key))
    return dict(value)


def req_obj(blob: Mapping[str, Any], key: str, path: str) -> JsonObj:
    value = field_obj(blob, key, path, required=True)
    assert value is not None
    return value


def opt_str(blob: Mapping[str, Any], key: str, path: str) -> str | None:
    value = blob.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise DecodeError("invalid_blob", f"{key!r} must be a string", join(path, key))
    return value


def req_str(blob: Mapping[str, Any], key: str, path: str) -> str:
    value = opt_str(blob, key, path)
    if value is None:
        raise DecodeError("invalid_blob", f"missing string field {key!r}", join(path, key))
    return value


def opt_bool(blob: Mapping[str, Any], key: str, path: str) -> bool:
    value = blob.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise DecodeError("invalid_blob", f"{key!r} must be a boolean", join(path, key))
    return value


def opt_list(blob: Mapping[str, Any], key: str, path: str) -> list[Any] | None:
    value = blob.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise DecodeError("invalid_blob", f"{key!r} must be a list", join(path, key))
    return value


def first_key(blob: Mapping[str, Any], *keys: str) -> Any:
    """Value of the first present (non-null) key: camelCase/snake_case aliases."""
    for key in keys:
        value = blob.get(key)
        if value is not None:
            return value
    return None


def parse_arguments(text: str, path: str) -> dict[str, Any]:
    """Tool-call arguments: a JSON object string; ``""`` means ``{}``."""
    if text == "":
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        raise DecodeError("invalid_tool_arguments", "arguments are not valid JSON", path) from None
    if not isinstance(value, dict):
        raise DecodeError("invalid_tool_arguments", "arguments must be a JSON object", path)
    return value


def compact_json(value: Any) -> str:
    """Compact JSON in source key order, non-ASCII kept (OpenAI arguments, tool results)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
