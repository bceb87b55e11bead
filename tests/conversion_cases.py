"""The project's conversion cases (tests/data/conversion-cases.json) and how tests compare them.

The file holds the 45 public examples of conversion.md revision 2 (35 conversions, 10 malformed
inputs), kept in the repository so a bare clone tests itself. Shared by the unit tests (codecs)
and the integration tests (`/convert`, the session views).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["CASES", "ERROR_CASES", "OK_CASES", "TARGETS", "blobs_of", "normalise"]

CASES_FILE = Path(__file__).resolve().parent / "data" / "conversion-cases.json"
CASES: list[dict[str, Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))["cases"]
OK_CASES = [c for c in CASES if not c.get("expect_error")]
ERROR_CASES = [c for c in CASES if c.get("expect_error")]
TARGETS = ("openai", "anthropic", "gemini")


def _json_text(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return ("json", json.loads(value))
        except ValueError:
            return value
    return value


def normalise(value: Any, key: str | None = None, in_tool: bool = False) -> Any:
    """Compare per the file's convention: arguments and JSON-text tool results by parsing."""
    if isinstance(value, dict):
        tool = value.get("role") == "tool" or value.get("type") == "tool_result"
        out = {}
        for k, v in value.items():
            if k == "arguments" or (tool and k == "content" and isinstance(v, str)):
                out[k] = _json_text(v)
            else:
                out[k] = normalise(v, k, tool)
        return out
    if isinstance(value, list):
        return [normalise(v, key, in_tool) for v in value]
    if in_tool and key == "content" and isinstance(value, str):
        return _json_text(value)
    return value


def blobs_of(case: dict[str, Any]) -> list[Any]:
    """Stored blobs for a case: the system value first (as a system blob), then each element."""
    source, fmt = case["source"], case["source_format"]
    if fmt == "openai":
        return list(source)
    if fmt == "anthropic":
        system = [{"role": "system", "content": source["system"]}] if "system" in source else []
        return system + list(source["messages"])
    key = "systemInstruction" if "systemInstruction" in source else "system_instruction"
    system = [{key: source[key]}] if key in source else []
    return system + list(source["contents"])
