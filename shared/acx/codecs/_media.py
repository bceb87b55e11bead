"""Media helpers shared by the codecs: data URLs, base64, MIME types, placeholders."""

from __future__ import annotations

import base64
import binascii
import functools
import posixpath
import re
from typing import Any, TypeVar
from urllib.parse import urlsplit

from acx.errors import DecodeError
from acx.model import AnyMedia, AudioPart, DocumentPart, ImagePart, MediaPart, VideoPart

M = TypeVar("M", bound=MediaPart)

#: Image media types Anthropic accepts in a base64 source.
ANTHROPIC_IMAGE_MIMES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
#: Document media types with a native slot in OpenAI ``file`` and Anthropic ``document``.
DOCUMENT_MIMES = frozenset({"application/pdf", "text/plain"})
#: Gemini audio MIME → OpenAI ``input_audio.format``.
OPENAI_AUDIO_FORMATS = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mp3": "mp3",
    "audio/mpeg": "mp3",
}

# A fixed table (not the platform's mimetypes database) so encodings are deterministic.
_EXT_MIME = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "heic": "image/heic",
    "heif": "image/heif",
    "bmp": "image/bmp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "txt": "text/plain",
    "md": "text/markdown",
    "csv": "text/csv",
    "html": "text/html",
    "json": "application/json",
    "wav": "audio/wav",
    "mp3": "audio/mp3",
    "ogg": "audio/ogg",
    "flac": "audio/flac",
    "aac": "audio/aac",
    "m4a": "audio/mp4",
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
    "mpeg": "video/mpeg",
}
_MIME_EXT = {"application/pdf": "pdf", "text/plain": "txt"}

_DATA_URL = re.compile(r"^data:([^;,]+)((?:;[^;,]*)*);base64,(.*)$", re.DOTALL)


def placeholder(what: str) -> str:
    """Text standing in for content the target cannot carry (conversion.md §4.5)."""
    return f"[unsupported content omitted: {what}]"


def check_base64(data: str, path: str) -> str:
    """Validate a base64 payload; returns it in standard alphabet (URL-safe input is converted)."""
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        pass
    else:
        return data
    try:
        base64.b64decode(data.encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise DecodeError("invalid_base64", "payload is not valid base64", path) from None
    return data.replace("-", "+").replace("_", "/")


def parse_data_url(url: str, path: str) -> tuple[str, str]:
    """``data:<mime>;base64,<payload>`` → (mime, base64 payload)."""
    match = _DATA_URL.match(url)
    if match is None:
        raise DecodeError("invalid_data_url", "data URL must look like data:<mime>;base64,<payload>", path)
    mime = match.group(1).strip().lower()
    if "/" not in mime:
        raise DecodeError("invalid_data_url", f"invalid MIME type {mime!r} in data URL", path)
    return mime, check_base64(match.group(3), path)


def data_url(mime: str, data: str) -> str:
    return f"data:{mime};base64,{data}"


def is_http(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


_GEMINI_HOST = "https://generativelanguage.googleapis.com/"
_GEMINI_FILES = re.compile(r"^https://generativelanguage\.googleapis\.com/[^?#]*/files/[^/?#]+", re.IGNORECASE)


def is_gemini_file(uri: str) -> bool:
    """A Gemini Files API URI (``https://generativelanguage.googleapis.com/v1beta/files/<id>``):
    a provider file only Gemini can read, never a URL for another provider (§1.6, §7.1)."""
    # The prefix test keeps the regex off the usual URL (this runs for every media reference).
    return uri[:42].lower().startswith(_GEMINI_HOST) and _GEMINI_FILES.match(uri) is not None


def by_reference(kind: type[M], uri: str, mime: str | None, **fields: Any) -> M:
    """A media part for ``uri``: a Gemini file reference for Files API URIs, else a URL."""
    if is_gemini_file(uri):
        return kind(mime=mime, file_id=uri, file_provider="gemini", **fields)
    return kind(mime=mime, url=uri, **fields)


@functools.lru_cache(maxsize=4096)
def mime_from_uri(uri: str) -> str | None:
    """MIME type implied by a URI's path extension, if any (no fetching, ever). Memoised:
    the same URIs recur across the messages of a session and its encodings."""
    ext = posixpath.splitext(urlsplit(uri).path)[1].lstrip(".").lower()
    return _EXT_MIME.get(ext)


def mime_from_filename(filename: str | None) -> str | None:
    if not filename:
        return None
    return _EXT_MIME.get(posixpath.splitext(filename)[1].lstrip(".").lower())


def default_filename(mime: str | None) -> str:
    """OpenAI requires a filename with ``file_data``: ``document.<ext>``."""
    return f"document.{_MIME_EXT.get(mime or '', 'bin')}"


def media_kind(mime: str | None) -> type[AnyMedia]:
    """Route inline data by MIME type: image, audio, video, else document."""
    major = (mime or "").split("/", 1)[0]
    if major == "image":
        return ImagePart
    if major == "audio":
        return AudioPart
    if major == "video":
        return VideoPart
    return DocumentPart


def describe(part: MediaPart) -> str:
    """The ``<what>`` of a placeholder: mime; mime and URI; or provider file id."""
    if part.file_id is not None:
        if part.file_provider == "gemini":  # the id is the Files API URI: a reference like others
            return f"{part.mime} {part.file_id}" if part.mime else part.file_id
        return f"{part.file_provider or 'provider'} file {part.file_id}"
    if part.url is not None:
        return f"{part.mime} {part.url}" if part.mime else part.url
    if part.file_field is not None and part.data is None:
        return f"{part.mime or 'file'} upload {part.file_field}"
    return part.mime or "application/octet-stream"


def decode_text(data: str) -> str:
    """UTF-8 text of a base64 payload (plain-text documents)."""
    return base64.b64decode(data).decode("utf-8", errors="replace")


def encode_text(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")
