"""The README's "Using it" examples, read from README.md and run as written against the stack.

Only the base URL is replaced (`localhost:8029` → the stack's port). The Python examples run with
the SDK they name (0.1.22 from the dev env, 0.0.9 installed by `test_docs_examples.sdk_009`); the
curl example runs in bash.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Stack, repo_root
from tests.integration.test_docs_examples import DOCS_BASE_URL, OLD_SDK, run_snippet, sdk_009  # noqa: F401

pytestmark = pytest.mark.integration


def _using_it_blocks(language: str) -> list[str]:
    text = (repo_root() / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Using it\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.DOTALL)


def test_the_readme_has_the_examples_this_module_runs() -> None:
    assert len(_using_it_blocks("python")) == 2
    assert len(_using_it_blocks("bash")) == 1


def test_python_example_with_the_current_sdk(stack: Stack, tmp_path: Path) -> None:
    example = _using_it_blocks("python")[0]
    assert "store_message" in example
    lines = run_snippet(stack, example, tmp_path, sdk="0.1.22")
    assert lines[0] == "user [{'text': 'Hello'}]"
    assert lines[1] == "model [{'text': 'Hi! How can I help?'}]"
    assert int(lines[2]) > 0


def test_python_example_with_sdk_009(stack: Stack, sdk_009: Path, tmp_path: Path) -> None:  # noqa: F811
    example = _using_it_blocks("python")[1]
    assert "send_message" in example
    lines = run_snippet(stack, example, tmp_path, sdk=OLD_SDK, pythonpath=sdk_009)
    assert len(lines) == 1
    assert lines[0].startswith("user ")
    assert "Hello" in lines[0]


def test_curl_example(stack: Stack) -> None:
    script = _using_it_blocks("bash")[0].replace(DOCS_BASE_URL, stack.api_url)
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # curl -s prints bodies without a newline: decode the envelopes one after the other.
    envelopes: list[dict[str, Any]] = []
    decoder, rest = json.JSONDecoder(), done.stdout.strip()
    while rest:
        envelope, end = decoder.raw_decode(rest)
        envelopes.append(envelope)
        rest = rest[end:].strip()
    assert [e["code"] for e in envelopes] == [0, 0], envelopes
    stored, page = (e["data"] for e in envelopes)
    assert stored["meta"] == {"source": "web"}
    assert page["items"][0]["role"] == "user"
    assert "What is the capital of France?" in json.dumps(page["items"][0])
