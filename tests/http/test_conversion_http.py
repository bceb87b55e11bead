"""Every case of tests/data/conversion-cases.json over HTTP, one test per case and target format:
`POST /convert`, and the session views (each blob stored with `POST /session/{id}/messages`, read
back through `/render` and `/messages`). Reads render inline when the converter has not run, so
no worker is needed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conversion_cases import ERROR_CASES, OK_CASES, TARGETS, blobs_of, normalise
from tests.http._helpers import assert_error_response
from tests.http.conftest import Client
from tests.sdk_types import validate_items


def _by_target(cases: list[dict[str, Any]]) -> list[Any]:
    return [pytest.param(case, target, id=f"{case['name']}-{target}") for case in cases for target in TARGETS]


def _by_name(cases: list[dict[str, Any]]) -> list[Any]:
    return [pytest.param(case, id=case["name"]) for case in cases]


async def _convert(client: Client, case: dict[str, Any], target: str) -> httpx.Response:
    return await client.post("/convert", json={"from": case["source_format"], "to": target, "input": case["source"]})


@pytest.mark.parametrize(("case", "target"), _by_target(OK_CASES))
async def test_convert_endpoint_matches_every_expectation(client: Client, case: dict[str, Any], target: str) -> None:
    """`/convert` returns exactly the expected encoded request in each format."""
    response = await _convert(client, case, target)
    assert response.status_code == 200, response.text
    assert normalise(response.json()["data"]) == normalise(case["expect"][target])


@pytest.mark.parametrize(("case", "target"), _by_target(ERROR_CASES))
async def test_convert_endpoint_rejects_with_the_error_code(client: Client, case: dict[str, Any], target: str) -> None:
    """Invalid input: 400, a message saying what is wrong, and the conversion.md §7 code."""
    assert_error_response(await _convert(client, case, target), 400, case["error_code"])


async def _store_all(client: Client, case: dict[str, Any]) -> tuple[str, list[httpx.Response]]:
    session_id = (await client.post("/session", json={})).json()["data"]["id"]
    responses = []
    for blob in blobs_of(case):
        url = f"/session/{session_id}/messages"
        responses.append(await client.post(url, json={"format": case["source_format"], "blob": blob}))
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


Stored = dict[str, tuple[str, list[httpx.Response]]]


@pytest.fixture(scope="module")
def stored() -> Stored:
    """Case name -> its session and store responses: each case is stored once, read in every format."""
    return {}


@pytest.mark.parametrize(("case", "target"), _by_target(OK_CASES))
async def test_session_views_match_every_expectation(
    client: Client, stored: Stored, case: dict[str, Any], target: str
) -> None:
    """Stored blob by blob, the session's request-level view equals the expectation, and its items
    view is aligned with ids and valid for the official SDK types."""
    if case["name"] not in stored:
        stored[case["name"]] = await _store_all(client, case)
    session_id, responses = stored[case["name"]]
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses if r.status_code != 201]
    stored_system = len(blobs_of(case)) - len(
        case["source"]
        if case["source_format"] == "openai"
        else case["source"].get("messages", case["source"].get("contents", []))
    )
    ids = [r.json()["data"]["id"] for r in responses]
    view = await client.get(f"/session/{session_id}/render", params={"format": target})
    assert view.status_code == 200, view.text
    expected = _renumbered(case["expect"][target], stored_system)
    assert normalise(view.json()["data"]["payload"]) == normalise(expected)
    page = (await client.get(f"/session/{session_id}/messages", params={"format": target})).json()["data"]
    assert len(page["items"]) == len(page["ids"]) == len(page["metas"])
    assert list(dict.fromkeys(page["ids"])) == ids, "items out of order or a message missing"
    validate_items(target, page["items"])


@pytest.mark.parametrize("case", _by_name(ERROR_CASES))
async def test_store_rejects_with_the_error_code_and_stores_nothing(client: Client, case: dict[str, Any]) -> None:
    """The failing blob is a 400 with its code, and the session holds only the blobs before it."""
    session_id, responses = await _store_all(client, case)
    assert_error_response(responses[-1], 400, case["error_code"])
    page = (await client.get(f"/session/{session_id}/messages", params={"format": case["source_format"]})).json()
    assert page["data"]["ids"] == [r.json()["data"]["id"] for r in responses[:-1]]
