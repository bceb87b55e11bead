"""Interleaved A/B of two builds of the gateway on one machine: `make bench-ab BASE=<rev>`.

    python -m bench.ab --before <checkout> [--after <checkout>] [--rounds 15] [--seconds 3]

Both gateways (WEB_WORKERS=1) run side by side, each on a database of its own on the same
PostgreSQL server (`acx_ab_<pid>_<side>`, migrated by that build, dropped at the end) and a Redis
index of its own, each from its own checkout's `.venv`. Each gets the same set-up through its own
API: 64 sessions, one hot session, a 200-message OpenAI conversation whose renderings that build's
converter precomputed (the cached pages) and the same conversation left unconverted (the inline
cross-format page). Then every round runs every workload once on each build, `--seconds` each, the order
alternating AB, BA, ... between workloads and rounds, so a neighbour's burst hits one pair of one
round instead of one side. Per round and workload it takes after ÷ before of the throughput
(req/s: above 1 the after build is faster) and of the gateway's CPU per request (psutil; below
1 it is cheaper), and prints the median and the spread over the rounds. DATABASE_URL / REDIS_URL
name the servers; unset, embedded ones under .data/bench-ab.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import redis
from psycopg import sql

from acx_dev.embedded import replace_database, replace_redis_db
from acx_dev.servers import EmbeddedServers
from bench import workloads
from bench.api import Api
from bench.data import openai_conversation
from bench.gateway_probe import GatewayProbe
from bench.procs import Child, free_port, wait_http
from bench.report import say
from bench.services import REPO
from bench.wrk import LoadShape, WrkResult

__all__ = ["main", "revision", "servers"]

#: Workload name → (group, what it runs on one side with the round's load shape).
Workload = Callable[["Side", LoadShape], WrkResult]
WORKLOADS: dict[str, tuple[str, Workload]] = {
    "store_64_sessions": ("store", lambda s, shape: workloads.store_messages(s.base, s.sessions, shape)),
    "store_hot_c16": (
        "store",
        lambda s, shape: workloads.store_messages(s.base, [s.hot], LoadShape(shape.threads, 16, shape.duration)),
    ),
    "page_cached_openai": ("read", lambda s, shape: workloads.get_page(s.base, s.page, "openai", shape)),
    "page_cached_anthropic": ("read", lambda s, shape: workloads.get_page(s.base, s.page, "anthropic", shape)),
    "page_inline_anthropic": ("read", lambda s, shape: workloads.get_page(s.base, s.inline, "anthropic", shape)),
    "api_ping": ("stack", lambda s, shape: workloads.api_ping(s.base, shape)),
}
# The tests claim Redis indexes with this key (tests/conftest.py): holding it keeps them off ours.
_REDIS_CLAIM_KEY = "acx:test-session"
_SEED_MESSAGES = 200


@dataclass
class Side:
    """One build under test: its checkout, servers, gateway and the sessions it seeded."""

    name: str
    root: Path
    python: Path
    database_url: str
    redis_url: str
    base: str = ""
    gateway: Child | None = None
    probe: GatewayProbe | None = None
    sessions: list[str] = field(default_factory=list)
    hot: str = ""
    page: str = ""
    inline: str = ""

    def child(self, name: str, module: str, log_dir: Path) -> Child:
        """Run `module` of this build with the bench's environment."""
        env = {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "HOST": "127.0.0.1",
            "PORT": str(free_port()),
            "WEB_WORKERS": "1",
            "WORKER_METRICS_PORT": "0",
            "SECRET_PEPPER": "bench-pepper-not-a-secret",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "json",
            "RATE_LIMIT_RPS": "0",
        }
        child = Child(f"ab-{self.name}-{name}", module, env, log_dir, python=self.python, cwd=self.root)
        if name == "gateway":
            self.base = f"http://127.0.0.1:{env['PORT']}"
        return child


def _pending(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM messages WHERE render_state IN ('pending', 'running')").fetchone()
    return int(row[0]) if row else 0


def seed(side: Side, log_dir: Path, sessions: int) -> None:
    """Start the side's gateway and give it the sessions every workload reads or writes."""
    side.gateway = side.child("gateway", "acx_gateway", log_dir)
    wait_http(side.base + "/readyz", timeout=100, child=side.gateway)
    side.probe = GatewayProbe(side.gateway.pid)
    api = Api(side.base)
    side.sessions = [api.create_session() for _ in range(sessions)]
    side.hot, side.page = api.create_session(), api.create_session()
    conversation = openai_conversation(50)[:_SEED_MESSAGES]
    for blob in conversation:
        api.store(side.page, blob)
    converter = side.child("converter", "acx_converter", log_dir)
    try:
        deadline = time.monotonic() + 120
        while _pending(side.database_url) and time.monotonic() < deadline:
            time.sleep(0.5)
        if _pending(side.database_url):
            raise RuntimeError(f"{side.name}: the converter left messages unconverted; see {converter.log_path}")
    finally:
        converter.stop()
    side.inline = api.create_session()  # stored with the converter stopped: encoded per request
    for blob in conversation:
        api.store(side.inline, blob)


def _claim_redis(base_url: str, count: int) -> list[str]:
    """`count` empty Redis indexes (1 upwards), claimed as the tests claim theirs."""
    me, urls = f"bench-ab:{os.getpid()}", []
    for index in range(1, 16):
        url = replace_redis_db(base_url, index)
        with redis.Redis.from_url(url) as client:
            if client.set(_REDIS_CLAIM_KEY, me, nx=True):
                if client.dbsize() == 1:
                    urls.append(url)
                    if len(urls) == count:
                        return urls
                else:
                    client.delete(_REDIS_CLAIM_KEY)
    _release_redis(urls)
    raise RuntimeError(f"fewer than {count} empty Redis indexes on {base_url}")


def _release_redis(urls: list[str]) -> None:
    for url in urls:
        with redis.Redis.from_url(url) as client:
            client.flushdb()


@contextlib.contextmanager
def servers(names: list[str]) -> Iterator[dict[str, tuple[str, str]]]:
    """Per side, a fresh database (same server) and an empty Redis index; all removed at the end."""
    db_env = os.environ.get("DATABASE_URL", "").strip() or None
    redis_env = os.environ.get("REDIS_URL", "").strip() or None
    data_dir = REPO / ".data" / "bench-ab"
    embedded = EmbeddedServers(
        data_dir, postgres=db_env is None, redis=redis_env is None, database="postgres", redis_port=0
    )
    with embedded:
        admin = replace_database(db_env or embedded.database_url, "postgres")
        databases = {name: f"acx_ab_{os.getpid()}_{name}" for name in names}
        redis_urls = _claim_redis(redis_env or embedded.redis_url, len(names))
        try:
            with psycopg.connect(admin, autocommit=True) as conn:
                for db in databases.values():
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
            yield {
                name: (replace_database(admin, db), url)
                for (name, db), url in zip(databases.items(), redis_urls, strict=True)
            }
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                for db in databases.values():
                    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
            _release_redis(redis_urls)


@dataclass(frozen=True)
class Sample:
    """One workload on one side in one round."""

    round: int
    workload: str
    side: str
    rps: float
    requests: int
    cpu_ms_per_request: float
    p50_ms: float
    p99_ms: float
    bad: int
    load1: float


def run_rounds(sides: list[Side], names: list[str], rounds: int, shape: LoadShape) -> list[Sample]:
    """Every workload on every side, `rounds` times, the order alternating."""
    samples: list[Sample] = []
    for side in sides:  # warm-up, not counted
        for name in names:
            WORKLOADS[name][1](side, LoadShape(shape.threads, shape.connections, 1))
    for number in range(rounds):
        say(f"round {number + 1}/{rounds}, load {os.getloadavg()[0]:.1f}")
        for index, name in enumerate(names):
            order = sides if (number + index) % 2 == 0 else sides[::-1]
            for side in order:
                assert side.probe is not None
                load = os.getloadavg()[0]
                result, cpu, _ = side.probe.watch(name, lambda: WORKLOADS[name][1](side, shape), shape.duration)  # noqa: B023
                per_request = cpu.busy / result.rps * 1000 if result.rps else 0.0
                bad = result.errors + result.non_2xx
                samples.append(
                    Sample(
                        number, name, side.name, result.rps, result.requests, per_request,
                        result.p50_ms, result.p99_ms, bad, load,
                    )
                )  # fmt: skip
    return samples


def _spread(values: list[float]) -> dict[str, float]:
    quartiles = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return {
        "median": statistics.median(values),
        "q1": quartiles[0],
        "q3": quartiles[2],
        "min": min(values),
        "max": max(values),
    }


def summarize(samples: list[Sample], names: list[str], a: str, b: str) -> dict[str, Any]:
    """Per workload: b ÷ a per round (throughput and CPU per request), the medians of each side."""
    out: dict[str, Any] = {}
    for name in names:
        by = {(s.round, s.side): s for s in samples if s.workload == name}
        rounds = sorted({r for r, _ in by})
        tput = [by[r, b].rps / by[r, a].rps for r in rounds if by[r, a].rps]
        cpu = [by[r, b].cpu_ms_per_request / by[r, a].cpu_ms_per_request for r in rounds if by[r, a].cpu_ms_per_request]
        out[name] = {
            "group": WORKLOADS[name][0],
            "rounds": len(rounds),
            "throughput_ratio": _spread(tput),
            "summed_requests_ratio": sum(by[r, b].requests for r in rounds) / sum(by[r, a].requests for r in rounds),
            "cpu_per_request_ratio": _spread(cpu),
            a: {"rps": statistics.median(by[r, a].rps for r in rounds)},
            b: {"rps": statistics.median(by[r, b].rps for r in rounds)},
            "cpu_ms": {
                a: statistics.median(by[r, a].cpu_ms_per_request for r in rounds),
                b: statistics.median(by[r, b].cpu_ms_per_request for r in rounds),
            },
            "bad_answers": sum(s.bad for s in by.values()),
        }
    for group in sorted({WORKLOADS[n][0] for n in names}):
        members = [out[n] for n in names if WORKLOADS[n][0] == group]
        out[f"group:{group}"] = {
            "throughput_ratio": statistics.geometric_mean(m["throughput_ratio"]["median"] for m in members),
            "cpu_per_request_ratio": statistics.geometric_mean(m["cpu_per_request_ratio"]["median"] for m in members),
        }
    return out


def print_summary(summary: dict[str, Any], names: list[str], a: str, b: str, loads: list[float]) -> None:
    """The table: per workload the medians of each side and the ratios' median [q1-q3] (min-max)."""
    print()
    print(f"after ÷ before per round ({b} ÷ {a}); throughput above 1 = faster, CPU per request below 1 = cheaper")
    print(
        f"{'workload':<24} {a + ' req/s':>12} {b + ' req/s':>12}  {'throughput median [q1-q3] (min-max)':<38}"
        f" {'CPU ms/req':>13}  CPU/req median [q1-q3]"
    )
    print("-" * 132)
    for name in names:
        row = summary[name]
        t, c, ms = row["throughput_ratio"], row["cpu_per_request_ratio"], row["cpu_ms"]
        print(
            f"{name:<24} {row[a]['rps']:12,.0f} {row[b]['rps']:12,.0f}  "
            f"{t['median']:5.2f} [{t['q1']:.2f}-{t['q3']:.2f}] ({t['min']:.2f}-{t['max']:.2f})".ljust(38 + 52)
            + f" {ms[a]:5.2f}->{ms[b]:5.2f}  {c['median']:5.2f} [{c['q1']:.2f}-{c['q3']:.2f}]"
        )
    for key, row in summary.items():
        if key.startswith("group:"):
            print(
                f"{key.removeprefix('group:'):<24} geometric mean of medians: throughput {row['throughput_ratio']:.2f},"
                f" CPU per request {row['cpu_per_request_ratio']:.2f}"
            )
    rounds = max(summary[n]["rounds"] for n in names)
    print(f"{rounds} rounds; load average (1 min) {min(loads):.1f} / {statistics.median(loads):.1f} / {max(loads):.1f}")
    print()


def main(argv: list[str] | None = None) -> int:
    """Set up both sides, run the rounds, print and write the summary."""
    parser = argparse.ArgumentParser(prog="make bench-ab", description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="checkout of the base build (with its .venv)")
    parser.add_argument("--after", type=Path, default=REPO, help="checkout of the build measured (default: this one)")
    parser.add_argument(
        "--python",
        type=Path,
        nargs=2,
        metavar=("BEFORE", "AFTER"),
        help="interpreters of the two builds (default: each checkout's .venv); give both the same dependency"
        " groups: the dev group's extra packages (pydantic) change what Litestar does per request",
    )
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--seconds", type=float, default=3.0, help="per workload, side and round")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--only", nargs="*", choices=list(WORKLOADS), help="a subset of the workloads")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    names = args.only or list(WORKLOADS)
    shape = LoadShape(2, args.connections, args.seconds)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    out = args.out or REPO / "bench" / "results" / f"{stamp}-ab.json"
    log_dir = REPO / ".data" / "bench-ab" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    roots = {"before": args.before.resolve(), "after": args.after.resolve()}
    default_pythons = [root / ".venv" / "bin" / "python" for root in roots.values()]
    pythons = {name: python.absolute() for name, python in zip(roots, args.python or default_pythons, strict=True)}
    with servers(list(roots)) as urls:
        sides = [Side(name, root, pythons[name], *urls[name]) for name, root in roots.items()]
        try:
            for side in sides:
                say(f"{side.name}: gateway and seed data ({side.root})")
                seed(side, log_dir, sessions=64)
            samples = run_rounds(sides, names, args.rounds, shape)
        finally:
            for side in sides:
                if side.gateway is not None:
                    side.gateway.stop()
    summary = summarize(samples, names, "before", "after")
    loads = [s.load1 for s in samples]
    print_summary(summary, names, "before", "after", loads)
    revisions = {name: revision(root) for name, root in roots.items()}
    meta = {"date": stamp, "revisions": revisions, "seconds": args.seconds, "connections": args.connections}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(msgspec.json.format(msgspec.json.encode({"meta": meta, "summary": summary, "samples": samples})))
    say(f"results written to {out}")
    return 0


def revision(root: Path) -> str:
    """`<short hash> <subject>` of the checkout's HEAD (cut at 100 characters)."""
    command = ["git", "-C", str(root), "log", "-1", "--format=%h %s"]
    return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip()[:100]


if __name__ == "__main__":
    sys.exit(main())
