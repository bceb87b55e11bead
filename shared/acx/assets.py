"""Uploaded files: content addressing, MIME detection, and attaching them to parts (pure)."""

from __future__ import annotations

import base64
import hashlib
import mimetypes
from collections.abc import Mapping
from typing import Any, NamedTuple

import msgspec

from acx.errors import InvalidRequestError
from acx.model import AssetRef, MediaPart, Message

__all__ = ["Upload", "attach_uploads", "detect_mime", "referenced_fields"]

_GENERIC = {"", "application/octet-stream", "binary/octet-stream"}
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)


class Upload(NamedTuple):
    """One uploaded file, hashed."""

    field: str
    filename: str | None
    mime: str
    data: bytes
    sha256: str

    @classmethod
    def of(cls, field: str, filename: str | None, content_type: str | None, data: bytes) -> Upload:
        """Hash the bytes and settle the MIME type."""
        return cls(field, filename, detect_mime(content_type, filename, data), data, hashlib.sha256(data).hexdigest())


def detect_mime(content_type: str | None, filename: str | None, data: bytes) -> str:
    """The declared type unless it is generic; then magic bytes, then the file extension."""
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    if declared not in _GENERIC:
        return declared
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    guessed = mimetypes.guess_type(filename or "")[0]
    return guessed or "application/octet-stream"


def referenced_fields(blob: Any) -> list[str]:
    """The `file_field` names an acontext blob's parts refer to, in order."""
    parts = blob.get("parts") if isinstance(blob, dict) else None
    if not isinstance(parts, list):
        return []
    return [p["file_field"] for p in parts if isinstance(p, dict) and isinstance(p.get("file_field"), str)]


def attach_uploads(message: Message, uploads: Mapping[str, Upload]) -> Message:
    """Resolve each part's `file_field` to its upload: bytes inline, asset pointer kept.

    Raises:
        InvalidRequestError: a part names a form field that carried no file.
    """
    parts = list(message.parts)
    for index, part in enumerate(parts):
        if not isinstance(part, MediaPart) or part.file_field is None:
            continue
        upload = uploads.get(part.file_field)
        if upload is None:
            raise InvalidRequestError("missing_file", f"missing file {part.file_field}")
        parts[index] = msgspec.structs.replace(
            part,
            data=base64.b64encode(upload.data).decode(),
            url=None,
            mime=upload.mime,
            filename=part.filename or upload.filename,
            file_field=None,
            asset=AssetRef(sha256=upload.sha256, mime=upload.mime, size=len(upload.data)),
        )
    return msgspec.structs.replace(message, parts=parts)
