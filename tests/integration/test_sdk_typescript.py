"""The published npm SDK `@acontext/acontext` 0.0.16, unmodified, against the running gateway.

`tests/ts/roundtrip.mjs` drives the SDK (create, list, store in all four formats, read in all four
with paging both ways, delete) with node:assert checks; this test installs the SDK from
`tests/ts/package-lock.json` when needed, runs the script, and cross-checks over plain HTTP.
Without node/npm the test is skipped locally and fails under CI=true.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import unavailable
from tests.integration.conftest import Stack

TS_DIR = Path(__file__).resolve().parents[1] / "ts"
SDK_NAME = "@acontext/acontext"


def _locked_version() -> str:
    lock = json.loads((TS_DIR / "package-lock.json").read_text(encoding="utf-8"))
    return str(lock["packages"][f"node_modules/{SDK_NAME}"]["version"])


def _installed_version() -> str | None:
    manifest = TS_DIR / "node_modules" / SDK_NAME / "package.json"
    if not manifest.is_file():
        return None
    return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])


@pytest.fixture(scope="module")
def node() -> str:
    """The node binary, with the SDK installed from the lock file (`npm ci`) if missing or stale."""
    node_bin, npm_bin = shutil.which("node"), shutil.which("npm")
    if node_bin is None or npm_bin is None:
        unavailable("node and npm are needed for the TypeScript SDK test")
    if _installed_version() != _locked_version():
        result = subprocess.run(
            [npm_bin, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=TS_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            unavailable(f"npm ci in {TS_DIR} failed:\n{result.stderr[-2000:]}")
    return node_bin


def _run_roundtrip(node: str, stack: Stack) -> dict[str, Any]:
    env = {**os.environ, "ACONTEXT_BASE_URL": stack.api_url, "ACONTEXT_API_KEY": stack.root_key}
    result = subprocess.run(
        [node, "roundtrip.mjs"], cwd=TS_DIR, env=env, capture_output=True, text=True, timeout=90, check=False
    )
    assert result.returncode == 0, f"roundtrip.mjs failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return summary


def test_typescript_sdk_round_trip(node: str, stack: Stack, http: httpx.Client) -> None:
    summary = _run_roundtrip(node, stack)

    expected = ["m1 openai", "m2 anthropic", "m3 gemini", "m4 acontext"]
    assert summary["reads"] == dict.fromkeys(("openai", "anthropic", "gemini", "acontext"), expected)
    deleted = http.get(f"/session/{summary['session_id']}/messages", params={"format": "openai"})
    assert deleted.status_code == 404, deleted.text
    assert deleted.json()["data"]["error_code"] == "session_not_found"
    # Deleting one session left the other alone; 0.0.16 sent no `user` for it.
    other = http.get(f"/session/{summary['other_session_id']}/configs")
    assert other.status_code == 200, other.text
    assert other.json()["data"]["user_id"] is None
