"""`make migrate`: apply migrations to DATABASE_URL, or to the embedded PostgreSQL when it is unset."""

from __future__ import annotations

import sys

from acx.config import ConfigError, load_settings
from acx.db.migrate import migrate
from acx_dev.embedded import EmbeddedError
from acx_dev.servers import EmbeddedServers

__all__ = ["main"]


def main() -> None:
    """Apply pending migrations and print their names (or "nothing to apply")."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        sys.exit(f"acx-dev migrate: {exc}")
    try:
        if settings.database_url:
            applied = migrate(settings.database_url)
        else:
            with EmbeddedServers(settings.data_dir, redis=False) as servers:
                applied = migrate(servers.database_url)
    except EmbeddedError as exc:
        sys.exit(f"acx-dev migrate: {exc}")
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "nothing to apply"
    print(f"migrations: {names}")


if __name__ == "__main__":
    main()
