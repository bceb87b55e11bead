"""JSON text exactly as Python's ``json`` writes it, produced by msgspec where that is identical.

Tool-call arguments, tool results and token-count payloads must be byte-identical to
``json.dumps(..., separators=(",", ":"), ensure_ascii=False)`` (conversion.md §1.7, acontext-api.md
§9); msgspec writes the same text several times faster for almost every value, and ``msgspec_exact``
says when it does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

__all__ = ["compact_json", "msgspec_exact", "sorted_json"]

_encode = msgspec.json.encode
_sorted_encoder = msgspec.json.Encoder(order="sorted")
_py_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_py_sorted_encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# Lone surrogates, values msgspec cannot encode: left to ``json``.
_FALLBACK = (UnicodeEncodeError, msgspec.MsgspecError, TypeError, ValueError)


def msgspec_exact(value: Any) -> bool:
    """True if ``msgspec.json.encode(value)`` spells ``value`` exactly as ``json.dumps`` does.

    They differ only on floats that ``repr`` writes with an exponent (``1e+16``, ``1e-05``)
    or that are not finite, and on types other than the JSON ones (left to ``json``).
    """
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return True
    if t is float:
        return bool(value == 0.0 or 1e-4 <= abs(value) < 1e16)
    if t is dict:
        for k in value:
            if type(k) is not str:
                return False
        items: Iterable[Any] = value.values()
    elif t is list:
        items = value
    else:
        return False
    # The common scalars are checked inline: a call per element would cost more than the check.
    for v in items:
        tv = type(v)
        if tv is str or tv is int or tv is bool or v is None:
            continue
        if not msgspec_exact(v):
            return False
    return True


def compact_json(value: Any) -> str:
    """Compact JSON in source key order, non-ASCII kept (OpenAI arguments, tool results).

    Byte-identical to ``json.dumps(value, separators=(",", ":"), ensure_ascii=False)``.
    """
    return _exact(value, _encode, _py_encoder.encode)


def sorted_json(value: Any) -> str:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``."""
    return _exact(value, _sorted_encoder.encode, _py_sorted_encoder.encode)


def _exact(value: Any, fast: Callable[[Any], bytes], slow: Callable[[Any], str]) -> str:
    if msgspec_exact(value):
        try:
            return fast(value).decode()
        except _FALLBACK:
            pass
    return slow(value)
