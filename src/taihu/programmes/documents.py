"""An application's files: kept beside it in the same unit of work; reviewers read them.

The accepted kinds of file and their limit are the prefix applications' (PDF, PNG or JPEG told
apart by their first bytes, at most ``MAX_DOCUMENT`` bytes): one rule for every upload a
reviewer opens.
"""

from __future__ import annotations

import hashlib
import re

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.core import Clock
from taihu.identifiers import DocumentUpload, document_type
from taihu.programmes.models import ProgrammeDocument

__all__ = ["check_uploads", "clean_filename", "list_documents", "store_documents"]


def clean_filename(name: str) -> str:
    """The last path part of an uploaded name, printable only (it is shown and sent back)."""
    base = re.split(r"[\\/]", name)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable()).strip()
    return cleaned[:255] or "document"


def check_uploads(uploads: list[tuple[str, DocumentUpload]]) -> list[str]:
    """The content type of each upload, or ``InvalidInput`` for the first bad one."""
    return [document_type(upload) for _, upload in uploads]


async def store_documents(
    session: AsyncSession,
    clock: Clock,
    application_id: int,
    uploads: list[tuple[str, DocumentUpload]],
    step_id: int | None = None,
) -> list[ProgrammeDocument]:
    """Keep checked uploads (kind, file) with an application (and the step that brought them)."""
    rows = [
        ProgrammeDocument(
            application_id=application_id,
            step_id=step_id,
            kind=kind[:32],
            filename=clean_filename(upload.filename),
            content_type=content_type,
            size=len(upload.content),
            sha256=hashlib.sha256(upload.content).hexdigest(),
            content=upload.content,
            uploaded_at=clock.now(),
        )
        for (kind, upload), content_type in zip(uploads, check_uploads(uploads), strict=True)
    ]
    session.add_all(rows)
    await session.flush()
    return rows


async def list_documents(session: AsyncSession, application_id: int) -> list[ProgrammeDocument]:
    """An application's documents, without their bytes."""
    rows = await session.scalars(
        sa.select(ProgrammeDocument)
        .where(ProgrammeDocument.application_id == application_id)
        .order_by(ProgrammeDocument.id)
        .options(sa.orm.defer(ProgrammeDocument.content))
    )
    return list(rows)
