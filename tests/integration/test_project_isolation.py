"""Projects (issue 12 row 9, items 2 and 6): `acx-admin` keys, and session ids that live per project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

import psycopg
import pytest

from tests.integration._helpers import assert_error_response, message_count
from tests.integration.conftest import Stack, acx_admin

pytestmark = pytest.mark.integration


def admin(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `acx-admin` as an operator would, against the stack's database."""
    return acx_admin(stack.database_url, *args)


def admin_json(stack: Stack, *args: str) -> Any:
    done = admin(stack, "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_admin_creates_lists_rotates_and_deletes_projects(stack: Stack) -> None:
    name = f"tenant-{uuid.uuid4().hex[:8]}"
    created = admin_json(stack, "project", "create", name)
    assert created["name"] == name
    assert created["api_key"].startswith("sk-ac-")
    listed = admin_json(stack, "project", "list")["projects"]
    assert [p["name"] for p in listed if p["id"] == created["id"]] == [name]
    assert created["api_key"] not in json.dumps(listed)
    with psycopg.connect(stack.database_url) as conn:
        stored = conn.execute("SELECT token_hmac FROM projects WHERE id = %s", (created["id"],)).fetchone()
    assert stored is not None
    assert created["api_key"] not in str(stored[0])  # only the HMAC is kept
    text = admin(stack, "project", "rotate-key", created["id"])
    assert text.returncode == 0, text.stderr
    [new_key] = [word for word in text.stdout.split() if word.startswith("sk-ac-")]
    # The first key was never used, so no gateway cached it: it must be refused right away.
    with stack.client(created["api_key"]) as old, stack.client(new_key) as new:
        assert_error_response(old.get("/ping"), 401)
        assert new.get("/ping").status_code == 200
        session_id = new.post("/session", json={}).json()["data"]["id"]
    deleted = admin_json(stack, "project", "delete", created["id"])
    assert deleted["deleted"] is True
    with psycopg.connect(stack.database_url) as conn:
        left = conn.execute("SELECT count(*) FROM sessions WHERE public_id = %s", (session_id,)).fetchone()
    assert left == (0,)


@pytest.mark.parametrize(
    "args",
    [("project", "rotate-key", "not-a-uuid"), ("project", "delete", str(uuid.uuid4())), ("project", "create", " ")],
)
def test_admin_refuses_bad_arguments_cleanly(stack: Stack, args: tuple[str, ...]) -> None:
    done = admin(stack, *args)
    assert done.returncode == 1
    assert done.stderr.startswith("acx-admin: ")
    assert "Traceback" not in done.stderr


def test_admin_refuses_the_documented_pepper(stack: Stack) -> None:
    """Keys made with the README's pepper would never match the gateway's: refuse, say which to use."""
    env = {**os.environ, "DATABASE_URL": stack.database_url, "SECRET_PEPPER": "your-secret-pepper"}
    done = subprocess.run(
        [sys.executable, "-m", "acx.admin", "project", "create", "x"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "SECRET_PEPPER" in done.stderr


def test_admin_leaves_the_default_project_to_the_root_token(stack: Stack) -> None:
    [default] = [p for p in admin_json(stack, "project", "list")["projects"] if p["default"]]
    for action in ("rotate-key", "delete"):
        done = admin(stack, "project", action, default["id"])
        assert done.returncode == 1
        assert "ROOT_API_BEARER_TOKEN" in done.stderr
    with stack.client(stack.root_key) as root:
        assert root.get("/ping").status_code == 200


@pytest.fixture
def tenants(stack: Stack) -> tuple[str, str]:
    """Keys of two fresh projects made with acx-admin."""
    first = admin_json(stack, "project", "create", "tenant-a")["api_key"]
    second = admin_json(stack, "project", "create", "tenant-b")["api_key"]
    return first, second


def test_any_project_may_use_any_uuid(stack: Stack, tenants: tuple[str, str]) -> None:
    """B choosing A's session id used to be 409 session_exists: an oracle and a way to squat ids."""
    key_a, key_b = tenants
    wanted = str(uuid.uuid4())
    with stack.client(key_a) as a, stack.client(key_b) as b:
        made_a = a.post("/session", json={"use_uuid": wanted, "configs": {"owner": "a"}})
        assert made_a.status_code == 201, made_a.text
        a.post(f"/session/{wanted}/messages", json={"blob": {"role": "user", "content": "from a"}})
        # B can take the same id, and its answer says nothing about A's session.
        made_b = b.post("/session", json={"use_uuid": wanted, "configs": {"owner": "b"}})
        assert made_b.status_code == 201, made_b.text
        assert made_b.json()["data"]["id"] == wanted
        assert made_b.json()["data"]["configs"] == {"owner": "b"}
        # Within one project the id is still unique.
        assert_error_response(b.post("/session", json={"use_uuid": wanted}), 409, "session_exists")
        b.post(f"/session/{wanted}/messages", json={"blob": {"role": "user", "content": "from b"}})
        b.post(f"/session/{wanted}/events", json={"type": "note", "data": {"by": "b"}})
        # Each sees only its own session behind the same id.
        assert message_count(a, wanted) == 1
        assert message_count(b, wanted) == 1
        texts_a = a.get(f"/session/{wanted}/messages").json()["data"]["items"]
        assert [item["content"] for item in texts_a] == ["from a"]
        assert a.get(f"/session/{wanted}/configs").json()["data"]["configs"] == {"owner": "a"}
        assert a.get(f"/session/{wanted}/events").json()["data"]["items"] == []
        [event] = b.get(f"/session/{wanted}/events").json()["data"]["items"]
        assert event["session_id"] == wanted
        # Deleting B's session leaves A's alone.
        assert b.delete(f"/session/{wanted}").status_code == 200
        assert message_count(a, wanted) == 1
        listed = [s["id"] for s in a.get("/session").json()["data"]["items"]]
        assert listed == [wanted]


def test_store_and_copy_answer_with_public_ids(stack: Stack, tenants: tuple[str, str]) -> None:
    key_a, _ = tenants
    wanted = str(uuid.uuid4())
    with stack.client(key_a) as a:
        a.post("/session", json={"use_uuid": wanted})
        stored = a.post(f"/session/{wanted}/messages", json={"blob": {"role": "user", "content": "x"}})
        assert stored.json()["data"]["session_id"] == wanted
        copy = a.post(f"/session/{wanted}/copy").json()["data"]
        assert copy["old_session_id"] == wanted
        assert message_count(a, copy["new_session_id"]) == 1
        page = a.get(f"/session/{copy['new_session_id']}/messages", params={"format": "acontext"}).json()["data"]
        assert {item["session_id"] for item in page["items"]} == {copy["new_session_id"]}
