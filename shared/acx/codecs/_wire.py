"""Helpers for walking decoded JSON with precise error paths.

Hot paths check ``type(x) is dict`` (decoded JSON is always plain ``dict``/``list``/``str``)
and fall back to the general ``Mapping`` check only for other types. Error paths are built
only when an error is raised: a codec raises with a path relative to the value it is looking
at and the caller prefixes it (``prefixed``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import msgspec

from acx.errors import DecodeError
from acx.jsontext import compact_json

JsonObj = dict[str, Any]

_json_decode = msgspec.json.decode
_MsgspecError = msgspec.MsgspecError


def join(path: str, key: str | int) -> str:
    """Extend a JSON path: ``join("content", 2)`` → ``content[2]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def prefixed(error: DecodeError, prefix: str) -> DecodeError:
    """``error`` (path relative to a value at ``prefix``) with its full path."""
    path = error.path
    if not path:
        path = prefix
    elif path.startswith("["):
        path = prefix + path
    elif prefix:
        path = f"{prefix}.{path}"
    return DecodeError(error.code, error.msg, path)


def obj(value: object, path: str, what: str = "message") -> JsonObj:
    """``value`` as a JSON object, else ``blob_not_object``. Plain dicts are not copied."""
    if type(value) is dict:
        return value
    if not isinstance(value, Mapping):
        raise DecodeError("blob_not_object", f"{what} must be a JSON object", path)
    return dict(value)


def field_obj(blob: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> JsonObj | None:
    value = blob.get(key)
    if type(value) is dict:
        return value
    if value is None:
        if required:
            raise DecodeError("invalid_blob", f"missing object field {key!r}", join(path, key))
        return None
    if not isinstance(value, Mapping):
        raise DecodeError("invalid_blob", f"{key!r} must be an object", join(path, key))
    return dict(value)


def req_obj(blob: Mapping[str, Any], key: str, path: str) -> JsonObj:
    value = blob.get(key)
    if type(value) is dict:
        return value
    value = field_obj(blob, key, path, required=True)
    assert value is not None
    return value


def opt_str(blob: Mapping[str, Any], key: str, path: str) -> str | None:
    value = blob.get(key)
    if value is None or isinstance(value, str):
        return value
    raise DecodeError("invalid_blob", f"{key!r} must be a string", join(path, key))


def req_str(blob: Mapping[str, Any], key: str, path: str) -> str:
    value = blob.get(key)
    if isinstance(value, str):
        return value
    if value is None:
        raise DecodeError("invalid_blob", f"missing string field {key!r}", join(path, key))
    raise DecodeError("invalid_blob", f"{key!r} must be a string", join(path, key))


def opt_bool(blob: Mapping[str, Any], key: str, path: str) -> bool:
    value = blob.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise DecodeError("invalid_blob", f"{key!r} must be a boolean", join(path, key))
    return value


def opt_list(blob: Mapping[str, Any], key: str, path: str) -> list[Any] | None:
    value = blob.get(key)
    if value is None or isinstance(value, list):
        return value
    raise DecodeError("invalid_blob", f"{key!r} must be a list", join(path, key))


def first_key(blob: Mapping[str, Any], *keys: str) -> Any:
    """Value of the first present (non-null) key: camelCase/snake_case aliases."""
    for key in keys:
        value = blob.get(key)
        if value is not None:
            return value
    return None


def first_of(blob: Mapping[str, Any], key: str, alias: str) -> Any:
    """``first_key`` for exactly two spellings, without the varargs tuple."""
    value = blob.get(key)
    return value if value is not None else blob.get(alias)


#: Key of the object that carries non-object tool-call arguments to Anthropic/Gemini (§7.1).
RAW_ARGUMENTS_KEY = "_raw_arguments"


def parse_arguments(text: str) -> dict[str, Any]:
    """Tool-call arguments as an object: the parsed JSON object; ``""`` means ``{}``.

    Any other text (truncated or invalid JSON, arrays, scalars: OpenAI's type allows any string
    and its models emit truncated JSON when cut off) is kept as ``{"_raw_arguments": text}``,
    the object Anthropic ``input`` and Gemini ``args`` need (conversion.md §7.1).
    """
    if text == "":
        return {}
    try:
        # msgspec accepts a subset of what json.loads does, with equal results; anything it
        # rejects (NaN, Infinity, 1e400, lone surrogates, malformed text) goes to json.loads.
        value = _json_decode(text)
    except _MsgspecError:
        try:
            value = json.loads(text)
        except ValueError:
            return {RAW_ARGUMENTS_KEY: text}
    if type(value) is not dict:
        return {RAW_ARGUMENTS_KEY: text}
    return value


def arguments_text(arguments: dict[str, Any]) -> str:
    """OpenAI ``arguments`` for an object: compact JSON, or the original text of a
    ``{"_raw_arguments": text}`` wrapper (the lossless way back of ``parse_arguments``)."""
    if len(arguments) == 1:
        raw = arguments.get(RAW_ARGUMENTS_KEY)
        if type(raw) is str:
            return raw
    return compact_json(arguments)
