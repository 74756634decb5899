"""A solution's files (brochures, case reports, certificates): every signed-in user reads them.

The provider's users and the bureau upload and delete them, each write audited. The accepted
kinds of file and their size are the programme applications' (PDF, PNG or JPEG told apart by
their first bytes, at most ``MAX_DOCUMENT`` bytes); a solution keeps at most ``MAX_FILES``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, record_audit
from taihu.core import N_, Clock, InvalidInput, NotFound, SystemClock
from taihu.identifiers import DocumentUpload
from taihu.programmes import check_uploads, clean_filename
from taihu.solutions.models import SolutionDocument
from taihu.solutions.pool import PoolService

__all__ = [
    "DOCUMENT_KINDS",
    "DOCUMENT_LABELS",
    "MAX_FILES",
    "SolutionDocuments",
    "file_columns",
]

# What a file of a solution is: the console offers these, the API refuses others.
DOCUMENT_KINDS = ("brochure", "case_report", "certificate", "other")
DOCUMENT_LABELS = {
    "brochure": N_("Brochure"),
    "case_report": N_("Case report"),
    "certificate": N_("Certificate"),
    "other": N_("Other"),
}
MAX_FILES = 20


def file_columns(
    actor: Principal, uploads: list[tuple[str, DocumentUpload]], now: datetime
) -> list[dict[str, Any]]:
    """The stored columns of each checked upload (kind, file), whatever it belongs to."""
    return [
        {
            "kind": kind, "filename": clean_filename(upload.filename),
            "content_type": content_type, "size": len(upload.content),
            "sha256": hashlib.sha256(upload.content).hexdigest(), "content": upload.content,
            "uploaded_by": actor.name[:128], "uploaded_at": now,
        }
        for (kind, upload), content_type in zip(uploads, check_uploads(uploads), strict=True)
    ]  # fmt: skip


class SolutionDocuments:
    """The documents of solutions within one unit of work."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()
        self.pool = PoolService(session, self.clock)

    async def all(self, solution_id: int) -> list[SolutionDocument]:
        """A solution's documents, without their bytes (a missing solution is ``NotFound``)."""
        await self.pool.solution(solution_id)
        rows = await self.session.scalars(
            sa.select(SolutionDocument)
            .where(SolutionDocument.solution_id == solution_id)
            .order_by(SolutionDocument.id)
            .options(sa.orm.defer(SolutionDocument.content))
        )
        return list(rows)

    async def add(
        self, actor: Principal, solution_id: int, uploads: list[tuple[str, DocumentUpload]]
    ) -> list[SolutionDocument]:
        """Keep checked uploads (kind, file) with a solution: all of them, or none."""
        solution = await self.pool.solution(solution_id)
        self.pool.require_edit(actor, await self.pool.provider(solution.provider_id))
        if not uploads:
            raise InvalidInput(N_("choose a file to upload"), code="bad_document")
        for kind, _ in uploads:
            if kind not in DOCUMENT_KINDS:
                raise InvalidInput(
                    N_("a document is one of {kinds}"),
                    code="bad_document",
                    kinds=", ".join(DOCUMENT_KINDS),
                )
        held = await self.session.scalar(
            sa.select(sa.func.count(SolutionDocument.id)).where(
                SolutionDocument.solution_id == solution_id
            )
        )
        if (held or 0) + len(uploads) > MAX_FILES:
            raise InvalidInput(
                N_("a solution keeps at most {count} documents"),
                code="too_many_documents",
                count=MAX_FILES,
            )
        now = self.clock.now()
        rows = [
            SolutionDocument(solution_id=solution_id, **columns)
            for columns in file_columns(actor, uploads, now)
        ]
        self.session.add_all(rows)
        await self.session.flush()
        for row in rows:
            await record_audit(
                self.session,
                actor,
                "solution_document.create",
                "solution",
                solution_id,
                after={"document": row.id, "kind": row.kind, "filename": row.filename,
                       "sha256": row.sha256},
                at=now,
            )  # fmt: skip
        return rows

    async def _one(self, solution_id: int, document_id: int) -> SolutionDocument:
        row = await self.session.get(SolutionDocument, document_id)
        if row is None or row.solution_id != solution_id:
            raise NotFound(
                N_("no document {document} in solution {solution}"),
                code="document_not_found",
                document=document_id,
                solution=solution_id,
            )
        return row

    async def read(self, solution_id: int, document_id: int) -> SolutionDocument:
        """A document with its bytes (the pool is open to every signed-in user)."""
        await self.pool.solution(solution_id)
        return await self._one(solution_id, document_id)

    async def delete(self, actor: Principal, solution_id: int, document_id: int) -> None:
        """Remove a document (bureau or the provider's users)."""
        solution = await self.pool.solution(solution_id)
        self.pool.require_edit(actor, await self.pool.provider(solution.provider_id))
        row = await self._one(solution_id, document_id)
        before = {"document": row.id, "kind": row.kind, "filename": row.filename,
                  "sha256": row.sha256}  # fmt: skip
        await self.session.delete(row)
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            "solution_document.delete",
            "solution",
            solution_id,
            before=before,
            at=self.clock.now(),
        )
