"""Run wrk with one of the Lua scripts in bench/wrk and parse the JSON line its `done` callback prints."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import msgspec

__all__ = ["LoadShape", "WrkResult", "run_wrk"]

SCRIPTS = Path(__file__).resolve().parent / "wrk"


@dataclass(frozen=True)
class LoadShape:
    """wrk's threads, connections and duration (seconds)."""

    threads: int = 2
    connections: int = 64
    duration: float = 10.0


@dataclass(frozen=True)
class WrkResult:
    """Throughput and latency of one wrk run; latencies in milliseconds."""

    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    errors: int
    non_2xx: int

    def to_json(self) -> dict[str, Any]:
        """Plain dict for the results file."""
        return asdict(self)


def run_wrk(url: str, script: str, args: list[str], shape: LoadShape) -> WrkResult:
    """Run `wrk` against `url` with `bench/wrk/<script>`; `args` go to the script's init().

    Raises:
        RuntimeError: wrk is missing or printed no result line.
    """
    exe = shutil.which("wrk")
    if exe is None:
        raise RuntimeError("wrk not found: `make bench` installs it (apt-get install -y wrk)")
    command = [
        exe,
        f"-t{shape.threads}",
        f"-c{shape.connections}",
        f"-d{max(1, round(shape.duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPTS / script),
        url,
        "--",
        *args,
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=False, timeout=shape.duration + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result (exit {out.returncode}): {out.stdout[-500:]} {out.stderr[-500:]}")
    raw = msgspec.json.decode(line.removeprefix("BENCH_JSON "))
    seconds = raw["duration_us"] / 1e6
    errors = raw["errors_connect"] + raw["errors_read"] + raw["errors_write"] + raw["errors_timeout"]
    return WrkResult(
        requests=raw["requests"],
        rps=raw["requests"] / seconds if seconds else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        errors=errors,
        non_2xx=raw["errors_status"],
    )
