"""Uploaded files, read whole but never past a limit (a client cannot make us buffer gigabytes)."""

from __future__ import annotations

from fastapi import UploadFile

from taihu.core.errors import InvalidInput
from taihu.core.messages import N_

__all__ = ["MAX_UPLOAD", "read_upload"]

MAX_UPLOAD = 20 * 1024 * 1024


async def read_upload(file: UploadFile, limit: int = MAX_UPLOAD) -> bytes:
    """The file's bytes, or ``InvalidInput`` when it is larger than ``limit``."""
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise InvalidInput(
            N_("the file is larger than {megabytes} MB"),
            megabytes=limit // (1024 * 1024),
            code="bad_file",
        )
    return content
