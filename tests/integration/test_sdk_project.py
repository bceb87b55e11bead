"""`client.project` of the published `acontext` SDK (0.1.22), sync and async, against the real gateway.

Bad inputs of the users and project endpoints are tested in-process: `tests/http/test_users_project.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import acontext
import httpx
import pytest
from acontext.errors import APIError

from tests.integration._helpers import assert_api_error, sdk_client
from tests.integration.conftest import Stack, new_project_key

pytestmark = pytest.mark.integration

CONFIGS_LIMIT = 64 * 1024


@pytest.fixture
def client(stack: Stack, fresh_project_key: str) -> Iterator[acontext.AcontextClient]:
    """SDK client of the test's own, empty project."""
    with sdk_client(stack.api_url, fresh_project_key) as c:
        yield c


def _configs(api: httpx.Client) -> Any:
    response = api.get("/project/configs")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_get_update_merge_and_delete_keys(client: acontext.AcontextClient) -> None:
    """update_configs merges, a None value deletes its key; get_configs returns the result."""
    assert client.project.get_configs().model_dump() == {"task_success_criteria": None, "task_failure_criteria": None}
    updated = client.project.update_configs({"task_success_criteria": "tests pass", "custom": {"n": [1, 2.5]}})
    assert updated.task_success_criteria == "tests pass"
    assert updated.model_extra == {"custom": {"n": [1, 2.5]}}
    merged = client.project.update_configs({"custom": None, "task_failure_criteria": "crash", "missing": None})
    assert (merged.task_success_criteria, merged.task_failure_criteria) == ("tests pass", "crash")
    assert merged.model_extra == {}
    again = client.project.get_configs()
    assert again.model_dump() == merged.model_dump()


def test_configs_are_per_project(client: acontext.AcontextClient, stack: Stack) -> None:
    """Another project's configs are its own."""
    client.project.update_configs({"mine": True})
    with sdk_client(stack.api_url, new_project_key(stack.database_url, "stranger")) as stranger:
        assert stranger.project.get_configs().model_extra == {}
        stranger.project.update_configs({"mine": False})
    assert client.project.get_configs().model_extra == {"mine": True}


def test_merged_configs_over_the_limit_are_413(client: acontext.AcontextClient, fresh_http: httpx.Client) -> None:
    """The limit applies to the merged result: two patches that fit alone do not fit together."""
    half = "x" * (CONFIGS_LIMIT // 2)
    client.project.update_configs({"a": half})
    with pytest.raises(APIError) as info:
        client.project.update_configs({"b": half})
    assert_api_error(info.value, 413)
    assert _configs(fresh_http) == {"a": half}
    # Replacing the big key instead of adding one fits.
    client.project.update_configs({"a": None, "b": half})
    assert _configs(fresh_http) == {"b": half}


async def test_async_client_project(stack: Stack, fresh_project_key: str) -> None:
    """The async SDK: get_configs and update_configs."""
    async with acontext.AcontextAsyncClient(api_key=fresh_project_key, base_url=stack.api_url) as client:
        assert (await client.project.get_configs()).model_extra == {}
        updated = await client.project.update_configs({"task_success_criteria": "done", "k": 1})
        assert (updated.task_success_criteria, updated.model_extra) == ("done", {"k": 1})
        await client.project.update_configs({"k": None})
        assert (await client.project.get_configs()).model_extra == {}
