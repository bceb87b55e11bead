"""The 45 cases of tests/data/conversion-cases.json, through ``convert`` and through the store path."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from tests.conversion_cases import CASES, ERROR_CASES, OK_CASES, TARGETS, blobs_of, normalise

from acx.codecs import IngestState, convert, decode_blob, encode_items, encode_request
from acx.errors import DecodeError
from acx.model import Message


def _store(case: dict[str, Any]) -> list[tuple[str, Message, bytes]]:
    fmt = case["source_format"]
    state = IngestState()
    stored = []
    blobs = blobs_of(case)
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
    encoded = encode_request(target, stored)  # type: ignore[arg-type]
    assert normalise(encoded.payload) == normalise(case["expect"][target])
    body = encoded.payload if target == "openai" else encoded.payload.get("messages", encoded.payload.get("contents"))
    assert len(encoded.ids) == len(body)
    covered = {i for ids in encoded.ids for i in ids} | set(encoded.system_ids)
    # Every stored message shows up somewhere unless it encoded to nothing (dropped reasoning).
    assert covered <= {mid for mid, _, _ in stored}


@pytest.mark.parametrize("case", OK_CASES, ids=lambda c: c["name"])
@pytest.mark.parametrize("target", TARGETS)
def test_items_view_is_valid_json_array(case: dict[str, Any], target: str) -> None:
    for _, message, raw in _store(case):
        items = json.loads(encode_items(target, message, raw))  # type: ignore[arg-type]
        assert isinstance(items, list)
        assert len(items) >= 1
        if target == message.source_format and message.role != "system":
            assert items == [json.loads(raw)]


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: c["name"])
@pytest.mark.parametrize("target", TARGETS)
def test_error_cases_raise_their_code(case: dict[str, Any], target: str) -> None:
    with pytest.raises(DecodeError) as info:
        convert(case["source_format"], target, case["source"])  # type: ignore[arg-type]  # cases hold format names
    assert info.value.code == case["error_code"]


@pytest.mark.parametrize("case", ERROR_CASES, ids=lambda c: c["name"])
def test_error_cases_fail_on_the_store_path(case: dict[str, Any]) -> None:
    with pytest.raises(DecodeError) as info:
        _store(case)
    assert info.value.code == case["error_code"]


def test_example_file_has_45_cases() -> None:
    """Revision 2 turned openai_tool_arguments_not_object from an error into a conversion."""
    assert len(CASES) == 45
    assert len(ERROR_CASES) == 9
