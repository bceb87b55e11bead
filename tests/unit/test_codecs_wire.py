"""The msgspec fast paths of ``_wire`` and ``tokens`` spell JSON exactly as the stdlib does."""

from __future__ import annotations

import json
from typing import Any

import pytest

from acx import tokens
from acx.codecs import _wire as w
from acx.codecs.anthropic.encode import sanitize_id
from acx.errors import DecodeError
from acx.jsontext import compact_json, sorted_json

VALUES: list[Any] = [
    {"location": "Paris", "days": 2, "ok": True, "none": None},
    {"b": [1, 2.5, {"c": 'é\u2028\x00"\\/<&>', "a": -0.0}], "a": 0.0001},
    {"big": 2**80, "neg": -(2**70), "f": [1e16, 1e-5, 1.2345678901234568e17, 9.99999999999999e-05, 5e-324]},
    {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")},
    {"surrogate": "\ud800"},
    {1: "int key"},
    [1, (2, 3)],
    "😀 text",
    {"z": {"y": {"x": []}}, "a": {}},
]


@pytest.mark.parametrize("value", VALUES)
def test_compact_json_matches_json_dumps(value: Any) -> None:
    assert compact_json(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("value", [v for v in VALUES if not (isinstance(v, dict) and 1 in v)])
def test_sorted_json_matches_json_dumps(value: Any) -> None:
    assert sorted_json(value) == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@pytest.mark.parametrize("value", VALUES)
def test_go_json_sorted_like_json_dumps(value: Any) -> None:
    if isinstance(value, dict) and not all(isinstance(k, str) for k in value):
        return
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expected = expected.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    expected = expected.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    assert tokens.go_json(value) == expected


@pytest.mark.parametrize(
    "text",
    ['{"a":1,"a":2}', '{"x":NaN}', '{"x":1e400}', '{"s":"\\ud800"}', ' {"n": 123456789012345678901234567890} ', "{}"],
)
def test_parse_arguments_matches_json_loads(text: str) -> None:
    assert json.dumps(w.parse_arguments(text)) == json.dumps(json.loads(text))


@pytest.mark.parametrize("text", ["[1]", "{", '{"a":1}x', "nul", "3", '"s"', '{"city": "Par'])
def test_non_object_arguments_are_wrapped_verbatim(text: str) -> None:
    wrapped = w.parse_arguments(text)
    assert wrapped == {"_raw_arguments": text}
    assert w.arguments_text(wrapped) == text


@pytest.mark.parametrize("value", [{}, {"a": 1}, {"_raw_arguments": 1}, {"_raw_arguments": "x", "b": 2}])
def test_arguments_text_of_other_objects_is_compact_json(value: dict[str, Any]) -> None:
    assert w.arguments_text(value) == json.dumps(value, separators=(",", ":"))


@pytest.mark.parametrize(
    ("prefix", "rel", "full"),
    [("content[1]", "", "content[1]"), ("content[1]", "[2]", "content[1][2]"), ("a", "b.c", "a.b.c"), ("", "b", "b")],
)
def test_prefixed_composes_like_join(prefix: str, rel: str, full: str) -> None:
    assert w.prefixed(DecodeError("invalid_blob", "m", rel), prefix).path == full


@pytest.mark.parametrize("call_id", ["call_1", "toolu_01-AB", "", "a.b", "é", "x y", "٣"])
def test_sanitize_id(call_id: str) -> None:
    import re  # noqa: PLC0415

    assert sanitize_id(call_id) == (re.sub(r"[^a-zA-Z0-9_-]", "_", call_id) or "_")
