"""Multipart message stores: a `payload` JSON field plus file fields (acontext-api.md §4.1)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import UploadFile

from acx.assets import Upload, referenced_fields
from acx.errors import InvalidRequestError, TooLargeError

__all__ = ["is_multipart", "read_multipart", "uploads_for"]


def is_multipart(request: Request[Any, Any, Any]) -> bool:
    """Whether the body is multipart/form-data."""
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


async def read_multipart(request: Request[Any, Any, Any], max_upload_bytes: int) -> tuple[bytes, dict[str, Upload]]:
    """The `payload` field's JSON bytes and the uploaded files by field name."""
    form = await request.form()
    payload: bytes | None = None
    uploads: dict[str, Upload] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            if len(data) > max_upload_bytes:
                raise TooLargeError("file_too_large", f"file {name} exceeds the {max_upload_bytes}-byte upload limit")
            uploads[name] = Upload.of(name, value.filename or None, value.content_type, data)
        elif name == "payload":
            payload = value.encode()
    if not payload or not payload.strip():
        raise InvalidRequestError("invalid_body", "multipart store needs a non-empty 'payload' field")
    return payload, uploads


def uploads_for(fmt: str, blob: Any, uploads: dict[str, Upload]) -> tuple[Upload, ...]:
    """The uploads the blob's parts reference, checked against what was sent."""
    fields = referenced_fields(blob) if fmt == "acontext" else []
    if uploads and fmt != "acontext":
        raise InvalidRequestError("invalid_body", "file uploads are only supported with format=acontext")
    for field in fields:
        if field not in uploads:
            raise InvalidRequestError("missing_file", f"missing file {field}")
    return tuple(uploads[field] for field in dict.fromkeys(fields))
