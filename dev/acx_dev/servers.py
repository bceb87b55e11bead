"""The embedded PostgreSQL + Redis pair that `make run`, `make migrate` and the tests start.

Used for whichever of DATABASE_URL / REDIS_URL is unset; each server is an `acx_dev.embedded`
one, shared by every process using the same data dir.

    with EmbeddedServers(Path(".data")) as servers:
        servers.database_url  # postgresql://postgres@/acx?host=/abs/.data/postgres
        servers.redis_url     # redis://127.0.0.1:6380/0

Nothing here does I/O at import; the wheels are imported lazily.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self

from acx.config import Settings
from acx_dev.embedded import DEFAULT_DATABASE, DEFAULT_REDIS_PORT, EmbeddedError, EmbeddedPostgres, EmbeddedRedis

__all__ = ["EmbeddedServers"]


class EmbeddedServers:
    """Embedded PostgreSQL and/or Redis under one data dir, as a context manager.

    As a context manager it also turns SIGTERM into SystemExit (when it is the main thread and
    SIGTERM is unhandled), so `kill <pid>` still runs the shutdown instead of orphaning servers.
    """

    def __init__(
        self,
        data_dir: Path | str,
        *,
        postgres: bool = True,
        redis: bool = True,
        database: str = DEFAULT_DATABASE,
        redis_port: int = DEFAULT_REDIS_PORT,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.postgres = EmbeddedPostgres(self.data_dir, database) if postgres else None
        self.redis = EmbeddedRedis(self.data_dir, redis_port) if redis else None
        self._previous_sigterm: Any = None

    @classmethod
    def for_settings(cls, settings: Settings) -> EmbeddedServers:
        """Servers for whichever of DATABASE_URL / REDIS_URL is unset."""
        return cls(settings.data_dir, postgres=settings.database_url is None, redis=settings.redis_url is None)

    @property
    def database_url(self) -> str:
        if self.postgres is None:
            raise EmbeddedError("embedded PostgreSQL was not requested")
        return self.postgres.url

    @property
    def redis_url(self) -> str:
        if self.redis is None:
            raise EmbeddedError("embedded Redis was not requested")
        return self.redis.url

    def start(self) -> Self:
        """Start the requested servers; on failure stop whatever did start, then raise."""
        try:
            if self.postgres is not None:
                self.postgres.start()
            if self.redis is not None:
                self.redis.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop both (idempotent); Redis first so a failure there still stops PostgreSQL."""
        try:
            if self.redis is not None:
                self.redis.stop()
        finally:
            if self.postgres is not None:
                self.postgres.stop()

    def __enter__(self) -> Self:
        main = threading.current_thread() is threading.main_thread()
        if main and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            self._previous_sigterm = signal.signal(signal.SIGTERM, _raise_system_exit)
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.stop()
        finally:
            if self._previous_sigterm is not None:
                signal.signal(signal.SIGTERM, self._previous_sigterm)
                self._previous_sigterm = None


def _raise_system_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)
