"""The gateway refuses to start with a published pepper (issue 12 row 11): one line, exit 1."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("pepper", [None, "your-secret-pepper", "REPLACE-ME-with-32-random-bytes"])
def test_documented_pepper_is_refused(pepper: str | None) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_PEPPER"}
    env.update(DATABASE_URL="postgresql://postgres@127.0.0.1:1/unused", REDIS_URL="redis://127.0.0.1:1/0")
    if pepper is not None:
        env["SECRET_PEPPER"] = pepper
    done = subprocess.run(
        [sys.executable, "-m", "acx_gateway"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert done.stderr.startswith("acx-gateway: SECRET_PEPPER is unset or the documented placeholder")
    assert done.stderr.count("\n") == 1, done.stderr
    assert "make run" in done.stderr
