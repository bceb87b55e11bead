"""`make conformance` fails on any failed unit, a missing summary or a non-zero exit of check.py."""

from __future__ import annotations

import pytest
from tests.conformance import verdict


@pytest.mark.parametrize(
    ("output", "returncode", "ok"),
    [
        ("# by target: ...\n390 passed, 0 failed\n", 0, True),
        ("FAIL x [openai->gemini] ...\n389 passed, 1 failed\n", 0, False),
        ("390 passed, 0 failed\n", 1, False),
        ("Traceback (most recent call last):\n", 1, False),
        ("", 0, False),
    ],
)
def test_verdict(output: str, returncode: int, ok: bool) -> None:
    assert verdict(output, returncode)[0] is ok
