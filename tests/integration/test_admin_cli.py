"""`acx-admin`, run as operators run it: projects and their keys, clean refusals, the default project
left to the root token. (Session ids per project are tested in-process: tests/http/test_project_isolation.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

import psycopg
import pytest

from tests.integration._helpers import assert_error_response
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
