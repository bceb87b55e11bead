"""The processes under test: gateway, converter worker and the Litestar baseline, as children."""

from __future__ import annotations

from pathlib import Path

from bench.infra import Infra
from bench.procs import Child, free_port, wait_http

__all__ = ["Services"]

REPO = Path(__file__).resolve().parent.parent


class Services:
    """Starts and stops the children; `stop_all` leaves nothing behind."""

    def __init__(self, infra: Infra, log_dir: Path, web_workers: int = 1) -> None:
        self.infra = infra
        self.log_dir = log_dir
        self.web_workers = web_workers
        self.gateway: Child | None = None
        self.worker: Child | None = None
        self._children: list[Child] = []

    def _env(self, port: int) -> dict[str, str]:
        return {
            "DATABASE_URL": self.infra.database_url,
            "REDIS_URL": self.infra.redis_url,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WEB_WORKERS": str(self.web_workers),
            "WORKER_METRICS_PORT": "0",
            "SECRET_PEPPER": "bench-pepper-not-a-secret",  # the gateway refuses the documented default
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": "json",
            "PYTHONPATH": str(REPO),
            # The per-project limiter off (its default): one bench client is one project, and a
            # limit would measure the limiter, not the service.
            "RATE_LIMIT_RPS": "0",
        }

    def _start(self, name: str, module: str, port: int) -> Child:
        child = Child(name, module, self._env(port), self.log_dir)
        self._children.append(child)
        return child

    def start_baseline(self) -> tuple[Child, str]:
        """The minimal Litestar app; returns it and its base URL once it answers."""
        port = free_port()
        child = self._start("litestar-baseline", "bench.baselines.litestar_app", port)
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/ping", child=child)
        return child, base

    def start_gateway(self) -> str:
        """The gateway; returns its base URL once /readyz answers."""
        port = free_port()
        self.gateway = self._start("gateway", "acx_gateway", port)
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/readyz", timeout=60, child=self.gateway)
        return base

    def start_worker(self) -> Child:
        """The converter worker (arq); it starts consuming as soon as it is up."""
        self.worker = self._start("converter", "acx_converter", free_port())  # PORT is unused but validated
        return self.worker

    def stop(self, child: Child | None) -> None:
        """Stop one child (no-op for None)."""
        if child is not None:
            child.stop()
            if child in self._children:
                self._children.remove(child)
        if child is self.worker:
            self.worker = None
        if child is self.gateway:
            self.gateway = None

    def stop_all(self) -> None:
        """Stop every child still running, newest first."""
        for child in reversed(list(self._children)):
            self.stop(child)
