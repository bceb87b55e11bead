"""The durations and sizes of one `make bench` run."""

from __future__ import annotations

from dataclasses import dataclass

from bench.wrk import LoadShape

__all__ = ["Plan"]


@dataclass(frozen=True)
class Plan:
    """Durations and sizes of one run."""

    quick: bool
    load: LoadShape
    latency: LoadShape
    baseline_s: float
    codec_s: float
    drain_n: int
    big_n: int
    small_n: int
    drain_timeout: float
    soak_n: int
    sessions: int = 64
    hot_connections: int = 16

    @classmethod
    def make(cls, quick: bool, threads: int, connections: int) -> Plan:
        """The full plan (about 10 s per workload, 100 000 messages) or the quick smoke plan."""
        seconds = 3.0 if quick else 10.0
        return cls(
            quick=quick,
            load=LoadShape(threads, connections, seconds),
            latency=LoadShape(1, 4, seconds / 2),
            baseline_s=seconds,
            codec_s=1.0 if quick else 3.0,
            drain_n=10_000 if quick else 100_000,
            big_n=10_000 if quick else 100_000,
            small_n=1_000,
            drain_timeout=90.0 if quick else 240.0,
            soak_n=20_000 if quick else 200_000,
        )
