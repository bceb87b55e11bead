"""Multipart message stores: a `payload` JSON field plus file fields (acontext-api.md §4.1)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import UploadFile
from litestar.exceptions import ClientException

from acx.assets import Upload, referenced_fields
from acx.errors import InvalidRequestError, TooLargeError
from acx.limits import MAX_FILENAME_CHARS, MAX_KEY_CHARS, MAX_MIME_CHARS, MAX_MULTIPART_PARTS, check_text

__all__ = ["form_fingerprint", "is_multipart", "read_multipart", "uploads_for"]


def is_multipart(request: Request[Any, Any, Any]) -> bool:
    """Whether the body is multipart/form-data."""
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


async def read_multipart(request: Request[Any, Any, Any], max_upload_bytes: int) -> tuple[bytes, dict[str, Upload]]:
    """The `payload` field's JSON bytes and the uploaded files by field name.

    Raises:
        TooLargeError: more than `MAX_MULTIPART_PARTS` parts, a part header over the parser's
            limits, a file over the upload limit, a file name, field name or content type over its
            length limit.
        InvalidRequestError: malformed multipart, or text fields that are not UTF-8.
    """
    try:
        form = await request.form()
    except ClientException as exc:
        if exc.detail == "Request Entity Too Large":  # a limit of the multipart parser, reported as a 400
            raise _parser_limit(exc.__context__) from None
        raise InvalidRequestError("invalid_multipart", f"invalid multipart body: {exc.detail}") from None
    except (UnicodeDecodeError, LookupError):
        raise InvalidRequestError("invalid_utf8", "multipart text fields must be UTF-8") from None
    payload: bytes | None = None
    uploads: dict[str, Upload] = {}
    for name, value in form.multi_items():
        check_text("form field name", name, MAX_KEY_CHARS)
        if isinstance(value, UploadFile):
            check_text("filename", value.filename, MAX_FILENAME_CHARS)
            data = await value.read()
            if len(data) > max_upload_bytes:
                raise TooLargeError("file_too_large", f"file {name} exceeds the {max_upload_bytes}-byte upload limit")
            upload = Upload.of(name, value.filename or None, value.content_type, data)
            check_text("file content type", upload.mime, MAX_MIME_CHARS)
            uploads[name] = upload
        elif name == "payload":
            payload = value.encode()
    if not payload or not payload.strip():
        raise InvalidRequestError("invalid_body", "multipart store needs a non-empty 'payload' field")
    return payload, uploads


def _parser_limit(cause: BaseException | None) -> TooLargeError:
    """The 413 for a limit the multipart parser hit (Litestar keeps only its message as the cause)."""
    if "segment count" in str(cause):
        return TooLargeError("too_many_parts", f"a multipart store may have at most {MAX_MULTIPART_PARTS} parts")
    # The parser allows each part 8 header lines of up to 4 KB (RFC 7578 needs 3, far shorter).
    return TooLargeError("part_header_too_large", "a part's headers exceed 8 lines or 4 KB a line")


def form_fingerprint(payload: bytes, uploads: dict[str, Upload]) -> bytes:
    """What identifies a multipart store for `Idempotency-Key`: the payload and each file, not the
    raw body, whose boundary a client picks anew for every retry."""
    files = sorted((u.field, u.filename or "", u.mime, u.sha256) for u in uploads.values())
    return b"\0".join([payload, *("\x1f".join(file).encode() for file in files)])


def uploads_for(fmt: str, blob: Any, uploads: dict[str, Upload]) -> tuple[Upload, ...]:
    """The uploads the blob's parts reference, checked against what was sent."""
    fields = referenced_fields(blob) if fmt == "acontext" else []
    if uploads and fmt != "acontext":
        raise InvalidRequestError("invalid_body", "file uploads are only supported with format=acontext")
    for field in fields:
        if field not in uploads:
            raise InvalidRequestError("missing_file", f"missing file {field}")
    return tuple(uploads[field] for field in dict.fromkeys(fields))
