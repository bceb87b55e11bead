"""The session inspector: static HTML/CSS/ES modules served at `/ui/`.

The files hold no data (everything is fetched from `/api/v1` with the key the user types), so
they need no auth. They get a strict Content-Security-Policy of their own: scripts, styles and
API calls from this origin only, no inline code, images from this origin (material links) or
`data:`/`blob:` URLs built by the page, no framing.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Response, Router
from litestar.static_files import create_static_files_router

__all__ = ["INSPECTOR_CSP", "inspector_router"]

STATIC_DIR = Path(__file__).resolve().parent / "static"

INSPECTOR_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data: blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_HEADERS = {
    "Content-Security-Policy": INSPECTOR_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # A new gateway version must not run with yesterday's modules; the files are small.
    "Cache-Control": "no-cache",
}


async def _security_headers(response: Response[object]) -> Response[object]:
    for name, value in _HEADERS.items():
        response.headers[name] = value
    return response


def inspector_router() -> Router:
    """The `/ui` router (index.html at `/ui/`), excluded from the OpenAPI document."""
    return create_static_files_router(
        path="/ui",
        directories=[STATIC_DIR],
        html_mode=True,
        name="inspector",
        after_request=_security_headers,
        include_in_schema=False,
    )
