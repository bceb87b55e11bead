"""Watching the gateway process while a workload runs: CPU share, RSS and py-spy profiles.

The gateway is granian's main process plus its worker(s); the work happens in the workers, so
CPU and memory are read from the children (or the process itself when it has none).
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

__all__ = ["CpuShare", "GatewayProbe", "top_frames"]

_MIB = 1024 * 1024


@dataclass(frozen=True)
class CpuShare:
    """CPU seconds the gateway's workers used per wall second during a workload (1.0 = one core)."""

    busy: float


class GatewayProbe:
    """CPU, RSS and (optionally) py-spy profiles of the gateway's worker processes."""

    def __init__(self, pid: int, profile_dir: Path | None = None) -> None:
        self._root = psutil.Process(pid)
        self._profile_dir = profile_dir

    def workers(self) -> list[psutil.Process]:
        """The processes that serve requests."""
        return self._root.children(recursive=True) or [self._root]

    def rss_mib(self) -> float:
        """Resident memory of the workers, MiB."""
        return float(sum(p.memory_info().rss for p in self.workers())) / _MIB

    def _cpu_seconds(self) -> float:
        return sum(sum(p.cpu_times()[:2]) for p in self.workers())

    def watch(self, name: str, run: Callable[[], Any], seconds: float) -> tuple[Any, CpuShare, dict[str, Any] | None]:
        """Run `run()` (a workload of about `seconds`), measuring the workers' CPU share and,
        when profiling, recording a py-spy profile of the first worker meanwhile."""
        spy = self._start_profile(name, seconds)
        cpu0, wall0 = self._cpu_seconds(), time.perf_counter()
        result = run()
        share = CpuShare((self._cpu_seconds() - cpu0) / (time.perf_counter() - wall0))
        profile = self._finish_profile(spy)
        return result, share, profile

    def _start_profile(self, name: str, seconds: float) -> tuple[subprocess.Popen[bytes], Path] | None:
        exe = shutil.which("py-spy")
        if self._profile_dir is None or exe is None:
            return None
        self._profile_dir.mkdir(parents=True, exist_ok=True)
        out = self._profile_dir / f"{name}.txt"
        command = [exe, "record", "--pid", str(self.workers()[0].pid), "--duration", str(max(1, int(seconds) - 1))]
        command += ["--rate", "250", "--format", "raw", "--nonblocking", "--output", str(out)]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out

    @staticmethod
    def _finish_profile(spy: tuple[subprocess.Popen[bytes], Path] | None) -> dict[str, Any] | None:
        if spy is None:
            return None
        proc, out = spy
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if not out.exists():
            return None
        return {"file": str(out), **top_frames(out.read_text())}


def _short(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/module.py:123)": keep function and file name.
    func, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    marker = "site-packages/"
    if marker in path:
        path = path.split(marker, 1)[1]
    return f"{func} ({path})"


def top_frames(collapsed: str, n: int = 15) -> dict[str, Any]:
    """Self time by leaf frame and inclusive time by package, from py-spy's collapsed stacks."""
    leaf: collections.Counter[str] = collections.Counter()
    package: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        leaf[_short(frames[-1])] += count
        seen = set()
        for frame in frames:
            top = _short(frame).split("(", 1)[1].split("/", 1)[0].removesuffix(")")
            if top not in seen:
                seen.add(top)
                package[top] += count

    def share(count: int) -> float:
        return round(count / total, 4) if total else 0.0

    return {
        "samples": total,
        "self": [(frame, share(c)) for frame, c in leaf.most_common(n)],
        "inclusive_by_package": [(pkg, share(c)) for pkg, c in package.most_common(n)],
    }
