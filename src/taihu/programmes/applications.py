"""Applications to programmes and their staged review: a state machine with only valid steps.

    apply ──► in_review @ first review stage (the district bureau)
    in_review ──pass──► in_review @ next stage … ──pass at the last stage──► approved (+ award)
    in_review ──reject(comment)──► rejected
    in_review @ district ──return(comment)──► returned ──resubmit──► in_review @ district
    in_review | returned ──withdraw──► withdrawn

The district decides on the platform; the upper stages (city, province, ministry) decide
outside it and the bureau enters their outcome, with the notice as a document. Every step is a
row (stage, decision, reviewer, comment, time, documents) and an audit entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Clock, Conflict, InvalidInput, Message, NotFound, SystemClock
from taihu.enterprises import Enterprise
from taihu.identifiers import DocumentUpload
from taihu.programmes.catalogue import STAGE_LABELS, STATUS_LABELS
from taihu.programmes.documents import check_uploads, store_documents
from taihu.programmes.forms import FormAnswers
from taihu.programmes.models import (
    Programme,
    ProgrammeApplication,
    ProgrammeDocument,
    StageStep,
)
from taihu.programmes.registry import grant_award
from taihu.programmes.service import ProgrammeService

__all__ = ["DECISIONS", "ApplicationForm", "ProgrammeApplications"]

DECISIONS = ("pass", "return", "reject")
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,22}[0-9]$")
Uploads = list[tuple[str, DocumentUpload]]


@dataclass(frozen=True, slots=True)
class ApplicationForm:
    """The built-in application form: a contact and what the enterprise did."""

    contact_name: str
    contact_phone: str
    summary: str

    def checked(self) -> dict[str, str]:
        """The form as stored, or ``InvalidInput`` naming the bad field."""
        name = " ".join(self.contact_name.split())
        phone = " ".join(self.contact_phone.split())
        summary = self.summary.strip()
        if not 2 <= len(name) <= 80:
            raise InvalidInput(N_("give the contact person's name"), code="bad_contact")
        if not _PHONE.match(phone):
            raise InvalidInput(
                N_("{phone} is not a phone number"), code="bad_contact_phone", phone=phone[:40]
            )
        if not 10 <= len(summary) <= 4000:
            raise InvalidInput(
                N_("describe the project in 10 to 4000 characters"), code="bad_summary"
            )
        return {"contact_name": name, "contact_phone": phone, "summary": summary}


def _comment(text: str, *, required: bool) -> str:
    comment = " ".join(text.split())[:1000]
    if required and len(comment) < 2:
        raise InvalidInput(N_("this decision needs a comment"), code="comment_required")
    return comment


class ProgrammeApplications:
    """Applications and their review within one unit of work."""

    def __init__(
        self, session: AsyncSession, clock: Clock | None = None, forms: FormAnswers | None = None
    ) -> None:
        self.session = session
        self.clock = clock or SystemClock()
        self.programmes = ProgrammeService(session, self.clock)
        self.forms = forms  # reads survey forms' answers; None where no survey engine is wired

    async def _answers(
        self, actor: Principal, programme: Programme, enterprise_id: int, instance_id: str
    ) -> dict[str, Any] | None:
        if programme.form_id is None:
            return None
        if not instance_id.strip():
            raise InvalidInput(
                N_("{programme} asks for its form {form_id}: fill it, then name the submission"),
                code="form_required",
                programme=programme.name_en,
                form_id=programme.form_id,
            )
        if self.forms is None:
            raise InvalidInput(
                N_("survey forms cannot be read here; apply in the console or through the API"),
                code="form_unavailable",
            )
        return await self.forms.answers(
            actor, programme.form_id, enterprise_id, instance_id.strip()[:100]
        )

    async def form_for(
        self, actor: Principal, programme_id: int, enterprise_id: int
    ) -> tuple[Programme, FormAnswers]:
        """A programme's survey form, for an enterprise's own users about to apply with it."""
        actor.require_enterprise(enterprise_id)
        programme = await self.programmes.get(programme_id)
        if programme.form_id is None:
            raise NotFound(
                N_("{programme} has no form of its own: apply with the built-in fields"),
                code="no_programme_form",
                programme=programme.name_en,
            )
        if not programme.accepting:
            raise Conflict(
                N_("{programme} takes no applications now"),
                code="programme_closed",
                programme=programme.name_en,
            )
        if self.forms is None:
            raise InvalidInput(
                N_("survey forms cannot be read here; apply in the console or through the API"),
                code="form_unavailable",
            )
        return programme, self.forms

    async def _step(
        self,
        row: ProgrammeApplication,
        actor: Principal,
        stage: str,
        decision: str,
        comment: str = "",
        uploads: Uploads | None = None,
    ) -> StageStep:
        step = StageStep(
            application_id=row.id,
            stage=stage,
            decision=decision,
            actor=actor.name,
            comment=comment,
            at=self.clock.now(),
        )
        self.session.add(step)
        await self.session.flush()
        if uploads:
            await store_documents(self.session, self.clock, row.id, uploads, step.id)
        row.updated_at = self.clock.now()
        return step

    async def _audit(
        self,
        actor: Principal,
        action: str,
        row: ProgrammeApplication,
        before: dict[str, Any] | None,
        after: dict[str, Any],
    ) -> None:
        await record_audit(
            self.session,
            actor,
            f"programme_application.{action}",
            "programme_application",
            row.id,
            before=before,
            after=after,
            at=self.clock.now(),
        )

    async def apply(
        self,
        actor: Principal,
        programme_id: int,
        enterprise_id: int,
        form: ApplicationForm,
        uploads: Uploads,
        instance_id: str = "",
    ) -> ProgrammeApplication:
        """Apply for an enterprise the actor acts for, with the programme's required documents.

        A programme with a survey form also takes the enterprise's submission of it
        (``instance_id``); its answers are kept with the application.
        """
        actor.require_enterprise(enterprise_id)
        programme = await self.programmes.get(programme_id)
        fields = form.checked()
        if not programme.accepting:
            raise Conflict(
                N_("{programme} takes no applications now"),
                code="programme_closed",
                programme=programme.name_en,
            )
        known = {d["key"]: d for d in programme.documents}
        given = {kind for kind, _ in uploads}
        for kind in sorted(given - known.keys()):
            raise InvalidInput(
                N_("{kind} is not a document this programme asks for"),
                code="bad_document",
                kind=kind,
            )
        missing = [d for k, d in known.items() if d.get("required") and k not in given]
        if missing:
            raise InvalidInput(
                N_("attach the {document}"),
                code="document_required",
                document=missing[0]["name_en"],
            )
        check_uploads(uploads)  # bad files refused before anything is written
        if await self.session.get(Enterprise, enterprise_id) is None:
            raise NotFound(
                N_("no enterprise {enterprise}"),
                code="enterprise_not_found",
                enterprise=enterprise_id,
            )
        if await self.session.scalar(
            sa.select(ProgrammeApplication.id).where(
                ProgrammeApplication.programme_id == programme.id,
                ProgrammeApplication.enterprise_id == enterprise_id,
                ProgrammeApplication.status.in_(("in_review", "returned")),
            )
        ):
            raise Conflict(
                N_("this enterprise has an open application to {programme}"),
                code="application_open",
                programme=programme.name_en,
            )
        answers = await self._answers(actor, programme, enterprise_id, instance_id)
        now = self.clock.now()
        row = ProgrammeApplication(
            programme_id=programme.id,
            enterprise_id=enterprise_id,
            status="in_review",
            stage=programme.stages[1],
            form=fields,
            answers=answers,
            created_at=now,
            updated_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        await self._step(row, actor, "enterprise", "submitted", "", uploads)
        await self._audit(
            actor,
            "apply",
            row,
            None,
            {
                "programme": programme.key,
                "enterprise_id": enterprise_id,
                "stage": row.stage,
                "documents": sorted(given),
                **(
                    {"form": answers["form_id"], "instance_id": answers["instance_id"]}
                    if answers
                    else {}
                ),
            },
        )
        return row

    async def get(self, actor: Principal, application_id: int) -> ProgrammeApplication:
        """One application the actor may see (an enterprise's users see their own only)."""
        row = await self.session.get(ProgrammeApplication, application_id)
        if row is None or not actor.can_see_enterprise(row.enterprise_id):
            raise NotFound(
                N_("no application {application}"),
                code="application_not_found",
                application=application_id,
            )
        return row

    async def all(
        self,
        actor: Principal,
        *,
        programme_id: int | None = None,
        status: str | None = None,
        enterprise_id: int | None = None,
    ) -> list[ProgrammeApplication]:
        """Applications the actor may see, newest first."""
        query = sa.select(ProgrammeApplication).order_by(ProgrammeApplication.id.desc())
        if programme_id is not None:
            query = query.where(ProgrammeApplication.programme_id == programme_id)
        if status:
            query = query.where(ProgrammeApplication.status == status)
        if enterprise_id is not None:
            query = query.where(ProgrammeApplication.enterprise_id == enterprise_id)
        if not actor.sees_all_enterprises:
            query = query.where(
                ProgrammeApplication.enterprise_id.in_(sorted(actor.enterprise_ids))
            )
        return list(await self.session.scalars(query.limit(1000)))

    async def steps(self, actor: Principal, application_id: int) -> list[StageStep]:
        """An application's steps, oldest first."""
        await self.get(actor, application_id)
        rows = await self.session.scalars(
            sa.select(StageStep)
            .where(StageStep.application_id == application_id)
            .order_by(StageStep.id)
        )
        return list(rows)

    def _refuse(self, row: ProgrammeApplication) -> Conflict:
        return Conflict(
            N_("application {application} is {status} at the {stage} stage: not this step"),
            code="invalid_transition",
            application=row.id,
            status=Message(STATUS_LABELS.get(row.status, row.status)),
            stage=Message(STAGE_LABELS.get(row.stage, row.stage)),
        )

    async def decide(
        self,
        actor: Principal,
        application_id: int,
        decision: str,
        comment: str = "",
        *,
        grade: str = "",
        since: date | None = None,
        uploads: Uploads | None = None,
    ) -> ProgrammeApplication:
        """Record a stage's decision (bureau): pass, return (district stage only) or reject."""
        actor.require_role(Role.BUREAU)
        if decision not in DECISIONS:
            raise InvalidInput(N_("a decision is pass, return or reject"), code="bad_decision")
        row = await self.get(actor, application_id)
        programme = await self.programmes.get(row.programme_id)
        if row.status != "in_review":
            raise self._refuse(row)
        if decision == "return" and row.stage != programme.stages[1]:
            raise self._refuse(row)
        comment = _comment(comment, required=decision != "pass")
        check_uploads(uploads or [])
        before = {"status": row.status, "stage": row.stage}
        stage = row.stage
        if decision == "pass":
            later = programme.stages[programme.stages.index(stage) + 1 :]
            if later:
                row.stage = later[0]
            else:
                await grant_award(
                    self.session,
                    self.clock,
                    actor,
                    programme,
                    row.enterprise_id,
                    grade=grade,
                    since=since or self.clock.now().date(),
                    source="application",
                    application_id=row.id,
                )
                row.status = "approved"
        else:
            row.status = {"return": "returned", "reject": "rejected"}[decision]
        await self._step(
            row,
            actor,
            stage,
            {"pass": "passed", "return": "returned", "reject": "rejected"}[decision],
            comment,
            uploads,
        )
        await self._audit(
            actor,
            decision,
            row,
            before,
            {"status": row.status, "stage": row.stage, "comment": comment},
        )
        return row

    async def resubmit(
        self,
        actor: Principal,
        application_id: int,
        form: ApplicationForm | None = None,
        uploads: Uploads | None = None,
        comment: str = "",
    ) -> ProgrammeApplication:
        """Resubmit an application sent back for changes (the enterprise's users)."""
        row = await self.get(actor, application_id)
        actor.require_enterprise(row.enterprise_id)
        if row.status != "returned":
            raise self._refuse(row)
        if form is not None:
            row.form = form.checked()
        check_uploads(uploads or [])
        row.status = "in_review"
        await self._step(
            row, actor, "enterprise", "resubmitted", _comment(comment, required=False), uploads
        )
        await self._audit(
            actor,
            "resubmit",
            row,
            {"status": "returned"},
            {"status": row.status, "stage": row.stage},
        )
        return row

    async def withdraw(
        self, actor: Principal, application_id: int, comment: str = ""
    ) -> ProgrammeApplication:
        """Withdraw an open application (the enterprise's users)."""
        row = await self.get(actor, application_id)
        actor.require_enterprise(row.enterprise_id)
        if row.status not in ("in_review", "returned"):
            raise self._refuse(row)
        before = {"status": row.status}
        row.status = "withdrawn"
        await self._step(row, actor, "enterprise", "withdrawn", _comment(comment, required=False))
        await self._audit(actor, "withdraw", row, before, {"status": row.status})
        return row

    async def read_document(
        self, actor: Principal, application_id: int, document_id: int
    ) -> ProgrammeDocument:
        """A document's bytes for a reviewer (bureau, auditor); each reading is audited."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        await self.get(actor, application_id)
        row = await self.session.get(ProgrammeDocument, document_id)
        if row is None or row.application_id != application_id:
            raise NotFound(
                N_("no document {document} in application {application}"),
                code="document_not_found",
                document=document_id,
                application=application_id,
            )
        await record_audit(
            self.session,
            actor,
            "programme_application.document_read",
            "programme_application",
            application_id,
            after={"document": row.id},
            at=self.clock.now(),
        )
        return row

    async def programme_of(self, row: ProgrammeApplication) -> Programme:
        """The programme an application is for."""
        return await self.programmes.get(row.programme_id)
