"""The 45 cases of conversion-examples.json, through ``convert`` and through the store path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from acx.codecs import IngestState, convert, decode_blob, render_items, render_request
from acx.errors import DecodeError
from acx.model import Message

SPEC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "spec"
CASES: list[dict[str, Any]] = json.loads((SPEC_DIR / "conversion-examples.json").read_text())["cases"]
OK_CASES = [c for c in CASES if not c.get("expect_error")]
ERROR_CASES = [c for c in CASES if c.get("expect_error")]
TARGETS = ("openai", "anthropic", "gemini")


def _json_text(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return ("json", json.loads(value))
        except ValueError:
            return value
    return value


def normalise(value: Any, key: str | None = None, in_tool: bool = False) -> Any:
    """Compare per the file's convention: arguments and JSON-text tool results by parsing."""
    if isinstance(value, dict):
        tool = value.get("role") == "tool" or value.get("type") == "tool_result"
        out = {}
        for k, v in value.items():
            if k == "arguments" or (tool and k == "content" and isinstance(v, str)):
                out[k] = _json_text(v)
            else:
                out[k] = normalise(v, k, tool)
        return out
    if isinstance(value, list):
        return [normalise(v, key, in_tool) for v in value]
    if in_tool and key == "content" and isinstance(value, str):
        return _json_text(value)
    return value


def _blobs(case: dict[str, Any]) -> list[Any]:
    """Stored blobs for a case: the system value first (as a system blob), then each element."""
    source, fmt = case["source"], case["source_format"]
    if fmt == "openai":
        return list(source)
    if fmt == "anthropic":
        system = [{"role": "system", "content": source["system"]}] if "system" in source else []
        return system + list(source["messages"])
    key = "systemInstruction" if "systemInstruction" in source else "system_instruction"
    system = [{key: source[key]}] if key in source else []
    return system + list(source["contents"])


def _store(case: dict[str, Any]) -> list[tuple[str, Message, bytes]]:
    fmt = case["source_format"]
    state = IngestState()
    stored = []
    blobs = _blobs(case)
    has_system = fmt != "openai" and len(blobs) > len(
        case["source"].get("messages", case["source"].get("contents", []))
    )
    for i, blob in enumerate(blobs):
        raw = msgspec.json.encode(blob)
        message, state = decode_blob(fmt, json.loads(raw), state)
        # The stored form is what the storage layer persists and reads back.
        message = msgspec.json.decode(msgspec.json.encode(message), type=Message)
        stored.append((f"m{i}", message, raw))
        if has_system and i == 0:
            state = IngestState(position=0, pending_calls=state.pending_calls)
    return stored


@pytest.mark.parametrize("case", OK_CASES, ids=lambda c: c["name"])
@pytest.mark.parametrize("target", TARGETS)
def test_convert_matches_expectation(case: dict[str, Any], target: str, sdk: Any) -> None:
    got = convert(case["source_format"], target, case["source"])  # type: ignore[arg-type]
    assert normalise(got) == normalise(case["expect"][target])
    sdk.request(target, got, cross_format=target != case["source_format"])


@pytest.mark.parametrize("case", OK_CASES, ids=lambda c: c["name"])
@pytest.mark.parametrize("target", TARGETS)
def test_store_path_matches_expectation(case: dict[str, Any], target: str) -> None:
    stored = _store(case)
    rendering = render_request(target, stored)  # type: ignore[arg-type]
    assert normalise(rendering.payload) == normalise(case["expect"][target])
    body = (
        rendering.payload
        if target == "openai"
        else rendering.payload.get("messages", rendering.payload.get("contents"))
    )
    assert len(rendering.ids) == len(body)
    covered = {i for ids in rendering.ids for i in ids} | set(rendering.system_ids)
    # Every stored message shows up somewhere unless it rendered to nothing (dropped reasoning).
    assert covered <= {mid for mid, _, _ in stored}


@pytest.mark.parametrize("case", OK_CASES, ids=lambda c: c["name"])
@pytest.mark.parametrize("target", TARGETS)
def test_items_view_is_valid_json_array(case: dict[str, Any], target: str) -> None:
    for _, message, raw in _store(case):
        items = json.loads(render_items(target, message, raw))  # type: ignore[arg-type]
        assert isinstance(items, list)
        assert len(items) >= 1
        if target == message.source_format and message.role != "system":
            assert items == [json.loads(raw)]


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: c["name"])
@pytest.mark.parametrize("target", TARGETS)
def test_error_cases_raise_their_code(case: dict[str, Any], target: str) -> None:
    with pytest.raises(DecodeError) as info:
        convert(case["source_format"], target, case["source"])
    assert info.value.code == case["error_code"]


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: c["name"])
def test_error_cases_fail_on_the_store_path(case: dict[str, Any]) -> None:
    with pytest.raises(DecodeError) as info:
        _store(case)
    assert info.value.code == case["error_code"]


def test_example_file_has_45_cases() -> None:
    assert len(CASES) == 45
    assert len(ERROR_CASES) == 10
