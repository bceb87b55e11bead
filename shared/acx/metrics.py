"""Prometheus metrics of the gateway and the converter (one registry per process).

Label values are bounded: route templates (never raw paths), formats, outcomes. With several
gateway processes, set PROMETHEUS_MULTIPROC_DIR: prometheus-client then aggregates across
processes at scrape time, which is why gauges declare a `multiprocess_mode`.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

__all__ = [
    "BUILD_INFO",
    "CONTENT_TYPE",
    "CONVERSION_DURATION",
    "CONVERSION_JOBS",
    "DB_POOL_CONNECTIONS",
    "DB_POOL_MAX",
    "DB_POOL_WAITING",
    "HTTP_DURATION",
    "HTTP_REQUESTS",
    "MESSAGES_READ",
    "MESSAGES_STORED",
    "OLDEST_PENDING_AGE",
    "QUEUE_DEPTH",
    "RENDERING_CACHE",
    "announce",
    "exposition",
    "record_pool_stats",
]

CONTENT_TYPE = CONTENT_TYPE_LATEST
# `*_created` series double the exposition size and no dashboard here uses them.
disable_created_metrics()  # type: ignore[no-untyped-call]
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "acx_http_requests", "HTTP requests by route template, method and status", ["route", "method", "status"]
)
HTTP_DURATION = Histogram(
    "acx_http_request_duration_seconds", "HTTP request latency", ["route", "method"], buckets=_LATENCY_BUCKETS
)
MESSAGES_STORED = Counter("acx_messages_stored", "Messages stored, by source format", ["format"])
MESSAGES_READ = Counter("acx_messages_read", "Messages returned by reads, by requested format", ["format"])
RENDERING_CACHE = Counter(
    "acx_rendering_cache_lookups", "Reads served from a cached rendering (hit) or encoded inline (miss)", ["result"]
)
CONVERSION_JOBS = Counter("acx_render_jobs", "Messages converted by the converter's jobs, by outcome", ["outcome"])
CONVERSION_DURATION = Histogram(
    "acx_render_duration_seconds",
    "Time to precompute and store the renderings of one conversion job (a batch of messages)",
    buckets=_LATENCY_BUCKETS,
)
QUEUE_DEPTH = Gauge("acx_queue_depth", "Jobs waiting in the converter queue", multiprocess_mode="max")
OLDEST_PENDING_AGE = Gauge(
    "acx_oldest_unrendered_age_seconds",
    "Age of the oldest message whose renderings are not precomputed yet (0 when none)",
    multiprocess_mode="max",
)
DB_POOL_CONNECTIONS = Gauge(
    "acx_db_pool_connections", "PostgreSQL pool connections by state", ["state"], multiprocess_mode="livesum"
)
DB_POOL_MAX = Gauge("acx_db_pool_max", "PostgreSQL pool size limit", multiprocess_mode="livesum")
DB_POOL_WAITING = Gauge("acx_db_pool_waiting", "Requests waiting for a pool connection", multiprocess_mode="livesum")
# Which component and version each scraped process is: alerts on a missing component need a series
# only that component exports (the other metrics are registered in every process).
BUILD_INFO = Gauge(
    "acx_build_info",
    "Always 1: the acx component and version of this process",
    ["component", "version"],
    multiprocess_mode="livemax",
)


def announce(component: str) -> None:
    """Publish `acx_build_info{component=...}` for this process (once, at start)."""
    BUILD_INFO.labels(component, metadata.version("acx")).set(1)


def record_pool_stats(stats: Mapping[str, int]) -> None:
    """Publish a psycopg_pool `get_stats()` snapshot as the acx_db_pool_* gauges of this process."""
    size, available = stats.get("pool_size", 0), stats.get("pool_available", 0)
    DB_POOL_CONNECTIONS.labels("used").set(size - available)
    DB_POOL_CONNECTIONS.labels("idle").set(available)
    DB_POOL_MAX.set(stats.get("pool_max", 0))
    DB_POOL_WAITING.set(stats.get("requests_waiting", 0))


def exposition(multiprocess_dir: str | None) -> bytes:
    """The text exposition of this process, or of all processes when `multiprocess_dir` is set
    (`Settings.prometheus_multiproc_dir`; prometheus-client reads the variable itself, at import)."""
    if multiprocess_dir:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)
