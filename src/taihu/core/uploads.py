"""Uploaded files, read whole but never past a limit (a client cannot make us buffer gigabytes)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import File, Query, UploadFile

from taihu.core.errors import InvalidInput
from taihu.core.messages import N_
from taihu.core.tabular import ImportReport, ImportReportOut

__all__ = ["MAX_UPLOAD", "DryRun", "ImportFile", "SkipInvalid", "import_upload", "read_upload"]

# The parameters every file import route takes, described alike.
ImportFile = Annotated[UploadFile, File(description="The .xlsx or .csv file")]
SkipInvalid = Annotated[bool, Query(description="Write the valid rows only")]
DryRun = Annotated[bool, Query(description="Validate without writing")]

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


async def import_upload(
    file: UploadFile, work: Callable[[str, bytes], Awaitable[ImportReport]]
) -> ImportReportOut:
    """Run a file import for an API route: read the upload (bounded), import it, report it."""
    content = await read_upload(file)
    return ImportReportOut.model_validate(await work(file.filename or "upload.csv", content))
