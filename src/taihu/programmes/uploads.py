"""Files in and out of the programmes' routes: bounded uploads with their kinds, downloads."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import UploadFile
from fastapi.responses import Response

from taihu.core import N_, InvalidInput, read_upload
from taihu.identifiers import MAX_DOCUMENT, DocumentUpload

__all__ = ["XLSX", "attachment", "uploads_of"]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def uploads_of(
    kinds: Sequence[str], files: Sequence[UploadFile | str | None]
) -> list[tuple[str, DocumentUpload]]:
    """Uploaded files paired with their kinds (bounded reads); empty file fields are skipped."""
    if len(kinds) != len(files):
        raise InvalidInput(N_("give one kind per file"), code="bad_document")
    pairs = []

    for kind, file in zip(kinds, files, strict=True):
        if file is None or isinstance(file, str):
            continue  # a file field left empty in a browser form arrives as ""
        content = await read_upload(file, MAX_DOCUMENT)
        if content or file.filename:
            pairs.append((kind.strip(), DocumentUpload(file.filename or kind, content)))
    return pairs


def attachment(filename: str, content_type: str, content: bytes) -> Response:
    """A stored document as a download the browser never renders in the console's origin."""
    quoted = "".join(ch if ch.isascii() and ch not in '"\\' else "_" for ch in filename)
    return Response(
        content,
        media_type=content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{quoted}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )
