"""How stored files are served: inert types inline, everything else as a download.

Uploaded bytes and their declared type come from clients. Served from the API origin, an HTML or
SVG file would run its scripts there (stored XSS), so only types a browser displays without any
active content are shown inline, and every file carries `nosniff` and a CSP that forbids scripts.
"""

from __future__ import annotations

import re

from litestar import Response

__all__ = ["INLINE_TYPES", "file_response"]

#: Shown inline: raster images, audio and PDF (no script runs in the API origin for these).
INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "audio/ogg",
        "audio/wav",
        "audio/x-wav",
        "audio/webm",
        "audio/flac",
        "application/pdf",
    }
)
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
# Even a file opened directly gets no scripts, plugins, forms or framing; inline media may load itself.
_FILE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; object-src 'self'; frame-ancestors 'none'"
_ATTACHMENT_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox"


def file_response(data: bytes, mime: str, *, inline: bool = True, cache_seconds: int = 0) -> Response[bytes]:
    """A response carrying a stored file; `inline=False` always downloads it."""
    declared = mime.split(";", 1)[0].strip().lower()
    media_type = declared if _MEDIA_TYPE.fullmatch(declared) else "application/octet-stream"
    shown = inline and media_type in INLINE_TYPES
    headers = {
        "Content-Disposition": "inline" if shown else "attachment",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": _FILE_CSP if shown else _ATTACHMENT_CSP,
        "Cache-Control": f"private, max-age={cache_seconds}" if cache_seconds else "no-store",
    }
    return Response(data, media_type=media_type, headers=headers)
