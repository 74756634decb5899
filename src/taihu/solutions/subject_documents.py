"""The files of providers (qualifications, brochures) and of reference cases (case reports).

The same rule as a solution's documents: PDF, PNG or JPEG told apart by their first bytes, at
most ``MAX_DOCUMENT`` bytes, ``MAX_FILES`` per provider or case; every signed-in user reads
them; the bureau and the provider's own users upload and delete them, each write audited.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, record_audit
from taihu.core import N_, Clock, InvalidInput, NotFound, SystemClock
from taihu.identifiers import DocumentUpload
from taihu.solutions.documents import DOCUMENT_KINDS, MAX_FILES, file_columns
from taihu.solutions.models import Provider, SolutionCase, SubjectDocument
from taihu.solutions.pool import PoolService

__all__ = ["SUBJECTS", "SubjectDocuments"]

# What a document may belong to besides a solution, and the audit entity it is recorded under.
SUBJECTS = {"provider": "solution_provider", "case": "solution_case"}


class SubjectDocuments:
    """The documents of providers and reference cases within one unit of work."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()
        self.pool = PoolService(session, self.clock)

    def _column(self, subject: str) -> Any:
        if subject not in SUBJECTS:
            raise InvalidInput(N_("no such kind of record"), code="bad_subject")
        return SubjectDocument.provider_id if subject == "provider" else SubjectDocument.case_id

    async def case(self, case_id: int) -> SolutionCase:
        """One reference case."""
        row = await self.session.get(SolutionCase, case_id)
        if row is None:
            raise NotFound(N_("no case {case}"), code="case_not_found", case=case_id)
        return row

    async def owner(self, subject: str, subject_id: int) -> Provider:
        """The provider a provider's or a case's documents belong to (``NotFound`` if none)."""
        self._column(subject)
        if subject == "provider":
            return await self.pool.provider(subject_id)
        solution = await self.pool.solution((await self.case(subject_id)).solution_id)
        return await self.pool.provider(solution.provider_id)

    async def all(self, subject: str, subject_id: int) -> list[SubjectDocument]:
        """The documents of a provider or case, without their bytes."""
        await self.owner(subject, subject_id)
        return (await self.of_many(subject, [subject_id]))[subject_id]

    async def of_many(self, subject: str, ids: list[int]) -> dict[int, list[SubjectDocument]]:
        """The documents of several providers or cases (a page's cases), without their bytes."""
        column = self._column(subject)
        out: dict[int, list[SubjectDocument]] = {i: [] for i in ids}
        rows = await self.session.scalars(
            sa.select(SubjectDocument)
            .where(column.in_(ids))
            .order_by(SubjectDocument.id)
            .options(sa.orm.defer(SubjectDocument.content))
        )
        for row in rows:
            held_by = row.provider_id if subject == "provider" else row.case_id
            if held_by is not None:
                out[held_by].append(row)
        return out

    async def add(
        self,
        actor: Principal,
        subject: str,
        subject_id: int,
        uploads: list[tuple[str, DocumentUpload]],
    ) -> list[SubjectDocument]:
        """Keep checked uploads (kind, file) with a provider or case: all of them, or none."""
        column = self._column(subject)
        self.pool.require_edit(actor, await self.owner(subject, subject_id))
        if not uploads:
            raise InvalidInput(N_("choose a file to upload"), code="bad_document")
        if any(kind not in DOCUMENT_KINDS for kind, _ in uploads):
            raise InvalidInput(
                N_("a document is one of {kinds}"),
                code="bad_document",
                kinds=", ".join(DOCUMENT_KINDS),
            )
        held = await self.session.scalar(
            sa.select(sa.func.count(SubjectDocument.id)).where(column == subject_id)
        )
        if (held or 0) + len(uploads) > MAX_FILES:
            raise InvalidInput(
                N_("a provider or case keeps at most {count} documents"),
                code="too_many_documents",
                count=MAX_FILES,
            )
        now = self.clock.now()
        rows = [
            SubjectDocument(
                provider_id=subject_id if subject == "provider" else None,
                case_id=subject_id if subject == "case" else None,
                **columns,
            )
            for columns in file_columns(actor, uploads, now)
        ]
        self.session.add_all(rows)
        await self.session.flush()
        for row in rows:
            await record_audit(
                self.session,
                actor,
                f"{SUBJECTS[subject]}_document.create",
                SUBJECTS[subject],
                subject_id,
                after=_facts(row),
                at=now,
            )
        return rows

    async def _one(self, subject: str, subject_id: int, document_id: int) -> SubjectDocument:
        row = await self.session.get(SubjectDocument, document_id)
        held_by = None if row is None else (row.provider_id, row.case_id)
        wanted = (subject_id, None) if subject == "provider" else (None, subject_id)
        if row is None or held_by != wanted:
            raise NotFound(
                N_("no document {document} there"), code="document_not_found", document=document_id
            )
        return row

    async def read(self, subject: str, subject_id: int, document_id: int) -> SubjectDocument:
        """A document with its bytes (the pool is open to every signed-in user)."""
        await self.owner(subject, subject_id)
        return await self._one(subject, subject_id, document_id)

    async def delete(
        self, actor: Principal, subject: str, subject_id: int, document_id: int
    ) -> None:
        """Remove a document (bureau or the provider's users)."""
        self.pool.require_edit(actor, await self.owner(subject, subject_id))
        row = await self._one(subject, subject_id, document_id)
        before = _facts(row)
        await self.session.delete(row)
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            f"{SUBJECTS[subject]}_document.delete",
            SUBJECTS[subject],
            subject_id,
            before=before,
            at=self.clock.now(),
        )


def _facts(row: SubjectDocument) -> dict[str, Any]:
    return {"document": row.id, "kind": row.kind, "filename": row.filename, "sha256": row.sha256}
