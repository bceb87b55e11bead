"""Instructions per request of two builds, counted by callgrind: `make bench-instr BASE=<rev>`.

    python -m bench.instructions --before <checkout> [--after <checkout>] [--requests 300]

Wall-clock and CPU-time A/Bs (`bench.ab`) swing by ±10-30 % on a shared 2-core machine, more than a
change of a few per cent. Callgrind counts the instructions the gateway's process executes, which
is the same on every run of the same build, inputs and environment whatever else the machine does:
each build's app answers each workload in process (`bench/instr_driver.py`: one request at a time,
straight through ASGI, on its own database and Redis index as `bench.ab` gives them), the counters
are zeroed after a warm-up and read after `--requests` requests. What it does not see: granian's
own work per request, waits, and what a cache miss costs; `bench.ab` measures those.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from bench.ab import revision, servers
from bench.report import say
from bench.services import REPO

__all__ = ["count_instructions", "main"]

DRIVER = Path(__file__).resolve().parent / "instr_driver.py"
WORKLOADS = ("store", "page_openai", "page_anthropic", "api_ping")
#: Start-up under callgrind (imports, migrations) takes a minute or two on these machines.
_START_TIMEOUT = 600.0


def _wait_for_line(log: Path, word: str, child: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while word not in log.read_text(errors="replace"):
        if child.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the driver stopped before {word}: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.2)


def _tell(child: subprocess.Popen[bytes]) -> None:
    assert child.stdin is not None
    child.stdin.write(b"go\n")
    child.stdin.flush()


def count_instructions(python: Path, checkout: Path, urls: tuple[str, str], workload: str, requests: int) -> float:
    """Instructions per request of `workload` answered by `checkout`'s app (run with `python`)."""
    with tempfile.TemporaryDirectory(prefix="acx-instr-") as folder:
        log, out = Path(folder) / "log", Path(folder) / "callgrind.out"
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", str(python), str(DRIVER),
            str(checkout), *urls, workload, str(requests),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONHASHSEED": "0"}  # same dict layouts, so the same count, every run
        with log.open("wb") as sink:
            child = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=checkout
            )
        try:
            _wait_for_line(log, "READY", child, _START_TIMEOUT)
            subprocess.run(["callgrind_control", "--zero", str(child.pid)], check=True, capture_output=True)
            _tell(child)
            _wait_for_line(log, "DONE", child, _START_TIMEOUT)
            subprocess.run(["callgrind_control", "--dump", str(child.pid)], check=True, capture_output=True)
            dump = Path(f"{out}.1")
            deadline = time.monotonic() + 60
            while "totals:" not in (dump.read_text() if dump.exists() else ""):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"callgrind wrote no dump of {workload} within 60 s")
                time.sleep(0.2)
            _tell(child)
            child.wait(timeout=_START_TIMEOUT)
        finally:
            if child.poll() is None:
                child.kill()
        totals = next(line for line in dump.read_text().splitlines() if line.startswith("totals:"))
        return int(totals.split()[1]) / requests


def main(argv: list[str] | None = None) -> int:
    """Count every workload on both builds, print the table and write it to bench/results."""
    parser = argparse.ArgumentParser(prog="make bench-instr", description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout of the base build (with its .venv)")
    parser.add_argument("--after", type=Path, default=REPO, help="checkout of the build measured (default: this one)")
    parser.add_argument("--python", type=Path, nargs=2, metavar=("BEFORE", "AFTER"), help="the builds' interpreters")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--only", nargs="*", choices=WORKLOADS, help="a subset of the workloads")
    args = parser.parse_args(argv)
    roots = {"before": args.before.resolve(), "after": args.after.resolve()}
    pythons = dict(
        zip(roots, args.python or [root / ".venv" / "bin" / "python" for root in roots.values()], strict=True)
    )
    counts: dict[str, dict[str, float]] = {}
    with servers(list(roots)) as urls:
        for workload in args.only or WORKLOADS:
            say(f"{workload}: {args.requests} requests per build under callgrind")
            with ThreadPoolExecutor(len(roots)) as both:  # the builds side by side: counts ignore the load
                runs = {
                    side: both.submit(
                        count_instructions, pythons[side].absolute(), root, urls[side], workload, args.requests
                    )
                    for side, root in roots.items()
                }
                counts[workload] = {side: run.result() for side, run in runs.items()}
    print(f"\n{'workload':<16} {'before instr/req':>17} {'after instr/req':>16}  after ÷ before")
    for workload, by_side in counts.items():
        ratio = by_side["after"] / by_side["before"]
        print(f"{workload:<16} {by_side['before']:17,.0f} {by_side['after']:16,.0f}  {ratio:.3f}")
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    out = REPO / "bench" / "results" / f"{stamp}-instructions.json"
    revisions = {side: revision(root) for side, root in roots.items()}
    meta = {"date": stamp, "revisions": revisions, "requests": args.requests}
    out.write_bytes(msgspec.json.format(msgspec.json.encode({"meta": meta, "instructions_per_request": counts})))
    say(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
