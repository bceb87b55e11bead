"""Gateway memory over a long store run: RSS sampled between wrk rounds until N stores are done."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bench import workloads
from bench.gateway_probe import GatewayProbe
from bench.wrk import LoadShape

__all__ = ["SoakResult", "store_soak"]


@dataclass
class SoakResult:
    """RSS of the gateway's workers (MiB) after each round of stores."""

    stores: int
    rps: float
    errors: int
    samples: list[tuple[int, float]] = field(default_factory=list)

    @property
    def growth(self) -> float:
        """(last - first) / first: the first sample is taken after the warm-up round."""
        first, last = self.samples[0][1], self.samples[-1][1]
        return (last - first) / first if first else 0.0

    def to_json(self) -> dict[str, Any]:
        """Plain dict for the results file."""
        return {**asdict(self), "growth": self.growth}


def store_soak(base: str, sessions: list[str], probe: GatewayProbe, shape: LoadShape, total: int) -> SoakResult:
    """Store `total` messages (after one warm-up round) in rounds of `shape`, sampling RSS after each."""
    workloads.store_messages(base, sessions, shape)  # warm-up: caches and pools reach their working size
    samples = [(0, round(probe.rss_mib(), 1))]
    stores = errors = 0
    seconds = 0.0
    while stores < total:
        result = workloads.store_messages(base, sessions, shape)
        stores += result.requests
        errors += result.errors + result.non_2xx
        seconds += result.requests / result.rps if result.rps else shape.duration
        samples.append((stores, round(probe.rss_mib(), 1)))
    return SoakResult(stores=stores, rps=stores / seconds if seconds else 0.0, errors=errors, samples=samples)
