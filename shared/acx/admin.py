"""`acx-admin`: projects for operators.

    acx-admin project create NAME     a new project; prints its API key once
    acx-admin project list            id, name, creation time (keys are never shown again)
    acx-admin project rotate-key ID   a new key for the project; the old one stops working
    acx-admin project delete ID       the project and everything stored in it

Keys are never stored: only HMAC-SHA256(SECRET_PEPPER, secret), as the gateway looks them up, so
the command needs the same DATABASE_URL and SECRET_PEPPER as the gateway. Gateways cache key
lookups for 30 s, so a rotated or deleted key may keep working that long. The default project
belongs to ROOT_API_BEARER_TOKEN (the gateway re-keys it at start): it cannot be rotated or deleted
here. `--json` prints one JSON document instead of text, for scripts.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
import psycopg

from acx.apikeys import auth_secret, new_token, token_hmac
from acx.config import DOCUMENTED_PEPPERS, ConfigError, Settings, load_settings
from acx.db import projects
from acx.db.migrate import migrate

__all__ = ["main"]

_MAX_NAME_CHARS = 200


class AdminError(Exception):
    """A refused command; the message is one line for the operator."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="acx-admin", description="Manage projects and their API keys.")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    groups = parser.add_subparsers(dest="group", required=True)
    project = groups.add_parser("project", help="projects and their API keys")
    actions = project.add_subparsers(dest="action", required=True)
    actions.add_parser("create", help="create a project and print its API key once").add_argument("name")
    actions.add_parser("list", help="list projects")
    actions.add_parser("rotate-key", help="give a project a new API key").add_argument("id")
    actions.add_parser("delete", help="delete a project and all its data").add_argument("id")
    return parser


def _project_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise AdminError(f"not a project id: {text!r}") from None


def _new_key(settings: Settings) -> tuple[str, str]:
    token = new_token()
    secret = auth_secret(token)
    assert secret is not None
    return token, token_hmac(secret, settings.secret_pepper)


async def _run(args: argparse.Namespace, settings: Settings, database_url: str) -> dict[str, Any]:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        if args.action == "create":
            name = args.name.strip()
            if not 0 < len(name) <= _MAX_NAME_CHARS or "\x00" in name:
                raise AdminError(f"the name must be 1-{_MAX_NAME_CHARS} characters")
            token, key_hmac = _new_key(settings)
            row = await projects.create_project(conn, name, key_hmac)
            return {"id": str(row.id), "name": row.name, "api_key": token}
        if args.action == "list":
            rows = await projects.list_projects(conn)
            return {"projects": [{"id": str(r.id), "name": r.name, "default": r.is_default,
                                  "created_at": r.created_at.isoformat()} for r in rows]}  # fmt: skip
        project_id = _project_id(args.id)
        found = await projects.get_project(conn, project_id)
        if found is None:
            raise AdminError(f"no project {project_id}")
        if found.is_default:
            raise AdminError("the default project follows ROOT_API_BEARER_TOKEN; change that setting instead")
        if args.action == "rotate-key":
            token, key_hmac = _new_key(settings)
            await projects.rekey_project(conn, project_id, key_hmac)
            return {"id": str(project_id), "name": found.name, "api_key": token}
        await projects.delete_project(conn, project_id)
        return {"id": str(project_id), "name": found.name, "deleted": True}


def _database_url(settings: Settings) -> str:
    if not settings.database_url:
        raise AdminError("DATABASE_URL is not set (the gateway's database)")
    if settings.secret_pepper in DOCUMENTED_PEPPERS:  # keys made with it would not work on the gateway
        raise AdminError(
            "SECRET_PEPPER is unset or the documented placeholder; use the gateway's"
            " (`make run` keeps it in DATA_DIR/secret_pepper)"
        )
    return settings.database_url


def _text(action: str, result: dict[str, Any]) -> str:
    if action == "list":
        lines = [f"{p['id']}  {p['created_at']}  {p['name']}{'  (default)' if p['default'] else ''}"
                 for p in result["projects"]]  # fmt: skip
        return "\n".join(lines) if lines else "no projects"
    if action == "delete":
        return f"deleted project {result['id']} ({result['name']})"
    verb = "created project" if action == "create" else "new key for project"
    return f"{verb} {result['id']} ({result['name']})\napi key, shown only this once: {result['api_key']}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `acx-admin`; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        database_url = _database_url(settings)
        migrate(database_url)
        result = asyncio.run(_run(args, settings, database_url))
    except (AdminError, ConfigError, psycopg.Error) as exc:
        print(f"acx-admin: {exc}", file=sys.stderr)
        return 1
    print(msgspec.json.encode(result).decode() if args.json else _text(args.action, result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
