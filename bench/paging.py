"""Page latency against session size: the newest page and a middle page at 1 000 vs N messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench import workloads
from bench.api import Api
from bench.bulk import clone_messages
from bench.report import Row, Target, say
from bench.wrk import LoadShape, WrkResult

if TYPE_CHECKING:
    from bench.run import Bench

__all__ = ["page_scaling"]


def page_scaling(bench: Bench, api: Api, base: str, source: str) -> None:
    """Page latency in a 1 000- and an N-message session (newest page and a middle page)."""
    latencies: dict[str, dict[int, WrkResult]] = {"newest": {}, "middle": {}}
    for n in (bench.plan.small_n, bench.plan.big_n):
        say(f"page latency: bulk-loading a {n:,}-message session")
        session = api.create_session()
        clone_messages(bench.infra.database_url, source, session, n, precomputed=True, start=0)
        cursor = workloads.middle_cursor(bench.infra.database_url, session)
        for kind, extra in (("newest", {"time_desc": "true"}), ("middle", {"cursor": cursor})):
            workloads.get_page(base, session, "openai", LoadShape(1, 4, 1), extra=extra)  # warm up
            result = bench.wrk(
                f"page_{kind}_{n}",
                lambda: workloads.get_page(base, session, "openai", bench.plan.latency, extra=extra),  # noqa: B023
                bench.plan.latency.duration,
            )
            latencies[kind][n] = result
    for kind, by_size in latencies.items():
        small, big = by_size[bench.plan.small_n], by_size[bench.plan.big_n]
        bench.rows.append(
            Row(f"page {kind} @ {bench.plan.small_n:,} msgs (wrk -c4)", small.rps, "req/s", small.p50_ms, small.p99_ms)
        )
        bench.rows.append(
            Row(
                f"page {kind} @ {bench.plan.big_n:,} msgs (wrk -c4)",
                big.rps,
                "req/s",
                big.p50_ms,
                big.p99_ms,
                big.p50_ms / small.p50_ms,
                f"p50 @ {bench.plan.small_n:,}",
            )
        )
        ratio = big.p50_ms / small.p50_ms
        bench.targets.append(
            Target(
                f"page p50 ({kind}) at {bench.plan.big_n:,} vs {bench.plan.small_n:,} msgs",
                ratio,
                "<= 1.5x",
                ratio <= 1.5,
            )
        )
