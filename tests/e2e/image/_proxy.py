"""A loopback TCP address for a PostgreSQL that listens on a unix socket only (the embedded test server).

In a cluster the services reach PostgreSQL over TCP. The embedded server's socket lives in a directory
only its own system user may enter, so the image's non-root user could not use it even if it were
mounted in: the tests give the containers this TCP address instead, forwarded to the socket.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

__all__ = ["tcp_database_url"]


def _pump(source: socket.socket, target: socket.socket) -> None:
    with suppress(OSError):
        while chunk := source.recv(65536):
            target.sendall(chunk)
    with suppress(OSError):
        target.shutdown(socket.SHUT_WR)


def _serve(listener: socket.socket, path: str) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return  # the listener was closed
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(path)
        except OSError:
            client.close()
            upstream.close()
            continue
        threading.Thread(target=_relay, args=(client, upstream), daemon=True).start()


def _relay(client: socket.socket, upstream: socket.socket) -> None:
    with client, upstream:
        outbound = threading.Thread(target=_pump, args=(client, upstream), daemon=True)
        outbound.start()
        _pump(upstream, client)
        outbound.join()


@contextmanager
def tcp_database_url(database_url: str) -> Iterator[str]:
    """`database_url` itself when it is TCP; else a loopback URL forwarded to its unix socket."""
    parts = urlsplit(database_url)
    query = parse_qs(parts.query)
    socket_dir = next((host for host in query.get("host", []) if host.startswith("/")), None)
    if socket_dir is None:
        yield database_url
        return
    path = f"{socket_dir}/.s.PGSQL.{query.get('port', ['5432'])[0]}"
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=_serve, args=(listener, path), daemon=True).start()
    user = quote(parts.username or "postgres")
    try:
        yield urlunsplit(parts._replace(netloc=f"{user}@127.0.0.1:{listener.getsockname()[1]}", query=""))
    finally:
        listener.close()
