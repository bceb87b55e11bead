"""Every case of tests/data/conversion-cases.json over HTTP: `POST /convert`, and the session views
(each blob stored with `POST /session/{id}/messages`, read back through `/render` and `/messages`)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conversion_cases import ERROR_CASES, OK_CASES, TARGETS, blobs_of, normalise
from tests.integration._helpers import assert_error_response, validate_items

pytestmark = pytest.mark.integration


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["name"] for case in cases]


@pytest.mark.parametrize("case", OK_CASES, ids=_ids(OK_CASES))
def test_convert_endpoint_matches_every_expectation(http: httpx.Client, case: dict[str, Any]) -> None:
    """`/convert` returns exactly the expected encoded request in each format."""
    for target in TARGETS:
        response = http.post("/convert", json={"from": case["source_format"], "to": target, "input": case["source"]})
        assert response.status_code == 200, response.text
        assert normalise(response.json()["data"]) == normalise(case["expect"][target]), target


@pytest.mark.parametrize("case", ERROR_CASES, ids=_ids(ERROR_CASES))
def test_convert_endpoint_rejects_with_the_error_code(http: httpx.Client, case: dict[str, Any]) -> None:
    """Invalid input: 400, a message saying what is wrong, and the conversion.md §7 code."""
    for target in TARGETS:
        response = http.post("/convert", json={"from": case["source_format"], "to": target, "input": case["source"]})
        assert_error_response(response, 400, case["error_code"])
        assert response.json()["msg"]


def _store_all(http: httpx.Client, case: dict[str, Any]) -> tuple[str, list[httpx.Response]]:
    session_id = http.post("/session", json={}).json()["data"]["id"]
    responses = []
    for blob in blobs_of(case):
        responses.append(
            http.post(f"/session/{session_id}/messages", json={"format": case["source_format"], "blob": blob})
        )
        if responses[-1].status_code != 201:
            break
    return session_id, responses


def _renumbered(value: Any, offset: int) -> Any:
    """Synthesised ids count stored positions; a stored system prompt shifts them by one."""
    if isinstance(value, dict):
        return {k: _renumbered(v, offset) for k, v in value.items()}
    if isinstance(value, list):
        return [_renumbered(v, offset) for v in value]
    if isinstance(value, str) and value.startswith("call_") and value.count("_") == 2:
        _, position, index = value.split("_")
        if position.isdigit() and index.isdigit():
            return f"call_{int(position) + offset}_{index}"
    return value


@pytest.mark.parametrize("case", OK_CASES, ids=_ids(OK_CASES))
def test_session_views_match_every_expectation(http: httpx.Client, case: dict[str, Any]) -> None:
    """Stored blob by blob, the session's request-level view equals the expectation, and its items
    view is aligned with ids and valid for the official SDK types."""
    session_id, responses = _store_all(http, case)
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses if r.status_code != 201]
    stored_system = len(blobs_of(case)) - len(
        case["source"]
        if case["source_format"] == "openai"
        else case["source"].get("messages", case["source"].get("contents", []))
    )
    ids = [r.json()["data"]["id"] for r in responses]
    for target in TARGETS:
        view = http.get(f"/session/{session_id}/render", params={"format": target})
        assert view.status_code == 200, view.text
        expected = _renumbered(case["expect"][target], stored_system)
        assert normalise(view.json()["data"]["payload"]) == normalise(expected), target
        page = http.get(f"/session/{session_id}/messages", params={"format": target}).json()["data"]
        assert len(page["items"]) == len(page["ids"]) == len(page["metas"])
        assert list(dict.fromkeys(page["ids"])) == ids, "items out of order or a message missing"
        validate_items(target, page["items"])


@pytest.mark.parametrize("case", ERROR_CASES, ids=_ids(ERROR_CASES))
def test_store_rejects_with_the_error_code_and_stores_nothing(http: httpx.Client, case: dict[str, Any]) -> None:
    """The failing blob is a 400 with its code, and the session holds only the blobs before it."""
    session_id, responses = _store_all(http, case)
    assert_error_response(responses[-1], 400, case["error_code"])
    page = http.get(f"/session/{session_id}/messages", params={"format": case["source_format"]}).json()["data"]
    assert page["ids"] == [r.json()["data"]["id"] for r in responses[:-1]]
