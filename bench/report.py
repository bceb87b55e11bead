"""The results table, the targets with PASS/MISS, and the JSON results file."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["Row", "Target", "print_report", "say", "write_results"]


@dataclass(frozen=True)
class Row:
    """One measured line: absolute figures and, when there is one, the ratio to a baseline."""

    name: str
    rate: float
    unit: str
    p50_ms: float | None = None
    p99_ms: float | None = None
    ratio: float | None = None
    versus: str = ""


@dataclass(frozen=True)
class Target:
    """A goal from the issue and whether this run met it."""

    name: str
    measured: float
    goal: str
    passed: bool


def say(message: str) -> None:
    """A progress line, timestamped."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:8.2f}"


def print_report(rows: list[Row], targets: list[Target]) -> None:
    """Print both tables to stdout."""
    print()
    print(f"{'workload':<44} {'rate':>12} {'unit':<9} {'p50 ms':>8} {'p99 ms':>8}  ratio")
    print("-" * 110)
    for row in rows:
        ratio = "" if row.ratio is None else f"{row.ratio:6.2f}x vs {row.versus}"
        print(f"{row.name:<44} {row.rate:12,.0f} {row.unit:<9} {_ms(row.p50_ms):>8} {_ms(row.p99_ms):>8}  {ratio}")
    print()
    print(f"{'target':<62} {'measured':>10}  {'goal':<12} result")
    print("-" * 96)
    for target in targets:
        verdict = "PASS" if target.passed else "MISS"
        print(f"{target.name:<62} {target.measured:10.2f}  {target.goal:<12} {verdict}")
    print()


def write_results(
    path: Path, meta: dict[str, Any], rows: list[Row], targets: list[Target], raw: dict[str, Any]
) -> None:
    """Write everything to `path` (JSON), via a temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "meta": meta,
        "rows": [asdict(r) for r in rows],
        "targets": [asdict(t) for t in targets],
        "raw": raw,
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    tmp.replace(path)
