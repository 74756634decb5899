"""Surveys within one unit of work: forms and versions, media, assignments, response rates.

Who may do what: the bureau and admins upload, publish, close and assign surveys; auditors
read them; an enterprise's users see the surveys asked of their enterprises ("my surveys").
Every write is audited.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Clock, Conflict, InvalidInput, NotFound, SystemClock, new_token
from taihu.enterprises import Enterprise
from taihu.surveys.models import (
    Assignment,
    FormMedia,
    FormVersion,
    Submission,
    Survey,
    SurveyTarget,
)
from taihu.surveys.xlsform import convert_xlsform

__all__ = ["MySurvey", "ResponseRate", "Scope", "SurveyService", "UploadedVersion"]

Scope = str  # all, township, industry, selected
SCOPES = ("all", "township", "industry", "selected")
MAX_MEDIA = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class UploadedVersion:
    """A new draft version, with the token that lets a device test it before publishing."""

    survey: Survey
    version: FormVersion
    draft_token: str
    warnings: list[str]


@dataclass(frozen=True, slots=True)
class ResponseRate:
    """How many of the enterprises asked have answered (a submission not rejected)."""

    asked: int
    answered: int
    submissions: int

    @property
    def rate(self) -> float:
        """Answered over asked, 0 when nobody was asked."""
        return self.answered / self.asked if self.asked else 0.0


@dataclass(frozen=True, slots=True)
class MySurvey:
    """A survey asked of one of the principal's enterprises."""

    survey: Survey
    enterprise_id: int
    enterprise_name: str
    deadline: date
    answered: bool


def _facts(version: FormVersion) -> dict[str, object]:
    return {"version": version.version, "state": version.state, "md5": version.xform_md5}


class SurveyService:
    """Forms, their versions and assignments, scoped to what a principal may do."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    # -- forms ----------------------------------------------------------------------------

    async def upload(self, actor: Principal, content: bytes, filename: str) -> UploadedVersion:
        """Convert an XLSForm and keep it as the draft version of its form (new form or not)."""
        actor.require_role(Role.BUREAU)
        form = convert_xlsform(content, filename)
        now = self.clock.now()
        survey = await self.session.scalar(sa.select(Survey).where(Survey.form_id == form.form_id))
        if survey is None:
            survey = Survey(
                form_id=form.form_id,
                title=form.title[:300],
                state="draft",
                created_by=actor.name,
                created_at=now,
                updated_at=now,
            )
            self.session.add(survey)
            await self.session.flush()
        if survey.state == "closed":
            raise Conflict(
                N_("survey {form_id} is closed"), code="survey_closed", form_id=survey.form_id
            )
        versions = await self._versions(survey.id)
        if any(v.version == form.version and v.state != "draft" for v in versions):
            raise Conflict(
                N_(
                    "version {version} of {form_id} exists already; change the version on the "
                    "settings sheet"
                ),
                code="version_exists",
                version=form.version,
                form_id=form.form_id,
            )
        for old in versions:
            if old.state == "draft":  # one draft at a time: a new upload replaces it
                await self.session.delete(old)
        await self.session.flush()
        plain, token_hash = new_token("draft")
        version = FormVersion(
            survey_id=survey.id,
            version=form.version,
            state="draft",
            title=form.title[:300],
            xlsform=content,
            xlsform_name=filename[:200],
            xform=form.xform,
            xform_md5=form.md5,
            fields=form.fields,
            choices=form.choices,
            media_names=form.media_names,
            draft_token_hash=token_hash,
            created_by=actor.name,
            created_at=now,
        )
        self.session.add(version)
        await self.session.flush()
        if form.itemsets is not None:
            self._add_media(version, "itemsets.csv", "text/csv", form.itemsets.encode("utf-8"))
        survey.updated_at = now
        await record_audit(
            self.session,
            actor,
            "survey.upload",
            "survey_version",
            version.id,
            after={"form_id": survey.form_id, **_facts(version)},
            at=now,
        )
        return UploadedVersion(
            survey=survey, version=version, draft_token=plain, warnings=form.warnings
        )

    def _add_media(
        self, version: FormVersion, name: str, content_type: str, content: bytes
    ) -> None:
        md5 = hashlib.md5(content, usedforsecurity=False).hexdigest()
        self.session.add(
            FormMedia(
                version_id=version.id,
                name=name,
                content_type=content_type,
                content=content,
                md5=md5,
            )
        )

    async def attach_media(
        self, actor: Principal, form_id: str, name: str, content_type: str, content: bytes
    ) -> FormMedia:
        """Add (or replace) a media file the draft version names."""
        actor.require_role(Role.BUREAU)
        survey = await self.get(actor, form_id)
        draft = await self.draft(survey)
        if name not in draft.media_names:
            raise InvalidInput(
                N_("the form does not use a file named {name} ({expected})"),
                code="unexpected_media",
                name=name,
                expected=", ".join(draft.media_names) or "-",
            )
        if len(content) > MAX_MEDIA:
            raise InvalidInput(
                N_("a media file may have at most {limit} bytes"),
                code="media_too_large",
                limit=MAX_MEDIA,
            )
        await self.session.execute(
            sa.delete(FormMedia).where(FormMedia.version_id == draft.id, FormMedia.name == name)
        )
        self._add_media(draft, name, content_type[:100] or "application/octet-stream", content)
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            "survey.media",
            "survey_version",
            draft.id,
            after={"name": name, "bytes": len(content)},
        )
        media = await self.session.scalar(
            sa.select(FormMedia).where(FormMedia.version_id == draft.id, FormMedia.name == name)
        )
        assert media is not None
        return media

    async def publish(self, actor: Principal, form_id: str) -> FormVersion:
        """Publish the draft: devices get it, the previous version retires, the survey opens."""
        actor.require_role(Role.BUREAU)
        survey = await self.get(actor, form_id)
        draft = await self.draft(survey)
        present = set(
            await self.session.scalars(
                sa.select(FormMedia.name).where(FormMedia.version_id == draft.id)
            )
        )
        missing = [n for n in draft.media_names if n not in present]
        if missing:
            raise Conflict(
                N_("upload the form's media files first: {names}"),
                code="media_missing",
                names=", ".join(missing),
            )
        now = self.clock.now()
        for old in await self._versions(survey.id):
            if old.state == "published":
                old.state = "retired"
        draft.state, draft.published_at, draft.draft_token_hash = "published", now, None
        # Test submissions belong to the draft; they go with it.
        await self.session.execute(
            sa.delete(Submission).where(
                Submission.version_id == draft.id, Submission.test.is_(True)
            )
        )
        survey.published_version_id, survey.title = draft.id, draft.title
        survey.state = "open" if survey.state == "draft" else survey.state
        survey.updated_at = now
        await record_audit(
            self.session,
            actor,
            "survey.publish",
            "survey_version",
            draft.id,
            after={"form_id": survey.form_id, **_facts(draft)},
            at=now,
        )
        return draft

    async def set_state(self, actor: Principal, form_id: str, state: str) -> Survey:
        """Close a survey (devices stop getting it, submissions are refused) or reopen it."""
        actor.require_role(Role.BUREAU)
        if state not in ("open", "closed"):
            raise InvalidInput(
                N_("a survey's state is open or closed, not {state}"),
                code="bad_survey_state",
                state=state,
            )
        survey = await self.get(actor, form_id)
        if survey.published_version_id is None:
            raise Conflict(
                N_("survey {form_id} has no published version"),
                code="not_published",
                form_id=form_id,
            )
        before = survey.state
        survey.state, survey.updated_at = state, self.clock.now()
        await record_audit(
            self.session,
            actor,
            "survey.state",
            "survey",
            survey.id,
            before={"state": before},
            after={"state": state},
        )
        return survey

    async def every(self, actor: Principal) -> list[Survey]:
        """Every survey, newest first (staff roles)."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        return list(await self.session.scalars(sa.select(Survey).order_by(Survey.id.desc())))

    async def get(self, actor: Principal, form_id: str) -> Survey:
        """A survey by its form id (staff roles)."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        survey = await self.session.scalar(sa.select(Survey).where(Survey.form_id == form_id))
        if survey is None:
            raise NotFound(N_("no survey {form_id}"), code="survey_not_found", form_id=form_id)
        return survey

    async def _versions(self, survey_id: int) -> list[FormVersion]:
        return list(
            await self.session.scalars(
                sa.select(FormVersion)
                .where(FormVersion.survey_id == survey_id)
                .order_by(FormVersion.id)
            )
        )

    async def versions_of(self, form_id: str) -> list[FormVersion]:
        """A survey's versions by form id, none when there is no such survey (no role check)."""
        survey = await self.session.scalar(sa.select(Survey).where(Survey.form_id == form_id))
        return await self._versions(survey.id) if survey else []

    async def versions(self, actor: Principal, form_id: str) -> list[FormVersion]:
        """A survey's versions, oldest first."""
        return await self._versions((await self.get(actor, form_id)).id)

    async def draft(self, survey: Survey) -> FormVersion:
        """The survey's draft version (409 ``no_draft`` when there is none)."""
        draft = await self.session.scalar(
            sa.select(FormVersion).where(
                FormVersion.survey_id == survey.id, FormVersion.state == "draft"
            )
        )
        if draft is None:
            raise Conflict(
                N_("survey {form_id} has no draft; upload the XLSForm again"),
                code="no_draft",
                form_id=survey.form_id,
            )
        return draft

    async def new_draft_token(self, actor: Principal, form_id: str) -> str:
        """A fresh token for testing the draft on a device (the old one stops working)."""
        actor.require_role(Role.BUREAU)
        draft = await self.draft(await self.get(actor, form_id))
        plain, draft.draft_token_hash = new_token("draft")
        await record_audit(self.session, actor, "survey.draft_token", "survey_version", draft.id)
        return plain

    # -- assignments ----------------------------------------------------------------------

    async def assign(
        self, actor: Principal, form_id: str, scope: Scope, value: str, deadline: date
    ) -> tuple[Assignment, int]:
        """Ask a set of enterprises to answer by a deadline; returns it and how many it reached."""
        actor.require_role(Role.BUREAU)
        survey = await self.get(actor, form_id)
        if scope not in SCOPES:
            raise InvalidInput(
                N_("{scope} is not a scope ({choices})"),
                code="bad_scope",
                scope=scope,
                choices=", ".join(SCOPES),
            )
        if deadline < self.clock.now().date():
            raise InvalidInput(
                N_("the deadline {deadline} has passed"),
                code="bad_deadline",
                deadline=deadline.isoformat(),
            )
        ids = await self._scope_ids(scope, value.strip())
        if not ids:
            raise InvalidInput(N_("no enterprise matches this scope"), code="empty_scope")
        now = self.clock.now()
        assignment = Assignment(
            survey_id=survey.id,
            scope=scope,
            scope_value=value.strip()[:2000],
            deadline=deadline,
            created_by=actor.name,
            created_at=now,
        )
        self.session.add(assignment)
        await self.session.flush()
        existing = {
            t.enterprise_id: t
            for t in await self.session.scalars(
                sa.select(SurveyTarget).where(SurveyTarget.survey_id == survey.id)
            )
        }
        for enterprise_id in ids:
            target = existing.get(enterprise_id)
            if target is None:
                self.session.add(
                    SurveyTarget(
                        survey_id=survey.id,
                        enterprise_id=enterprise_id,
                        assignment_id=assignment.id,
                        deadline=deadline,
                    )
                )
            else:
                target.assignment_id, target.deadline = assignment.id, deadline
        await record_audit(
            self.session,
            actor,
            "survey.assign",
            "survey",
            survey.id,
            after={
                "scope": scope,
                "value": assignment.scope_value,
                "deadline": deadline.isoformat(),
                "enterprises": len(ids),
            },
            at=now,
        )
        return assignment, len(ids)

    async def _scope_ids(self, scope: Scope, value: str) -> list[int]:
        query = sa.select(Enterprise.id).where(Enterprise.synthetic.is_(False))
        if scope == "township":
            query = query.where(Enterprise.township_code == value)
        elif scope == "industry":
            # A GB/T 4754 class or any of its prefixes (a division "17" takes all of 17xx).
            query = query.where(Enterprise.industry_code.startswith(value, autoescape=True))
        elif scope == "selected":
            try:
                wanted = {int(v) for v in value.replace(",", " ").split()}
            except ValueError:
                raise InvalidInput(
                    N_("list the enterprises by id, separated by commas"), code="bad_scope_value"
                ) from None
            query = query.where(Enterprise.id.in_(wanted))
        if scope in ("township", "industry") and not value:
            raise InvalidInput(N_("this scope needs a value"), code="bad_scope_value")
        return list(await self.session.scalars(query.order_by(Enterprise.id)))

    async def response_rate(self, actor: Principal, form_id: str) -> ResponseRate:
        """Asked, answered and submitted counts of a survey (test submissions left out)."""
        survey = await self.get(actor, form_id)
        asked = await self.session.scalar(
            sa.select(sa.func.count())
            .select_from(SurveyTarget)
            .where(SurveyTarget.survey_id == survey.id)
        )
        live = sa.and_(Submission.survey_id == survey.id, Submission.test.is_(False))
        submissions = await self.session.scalar(sa.select(sa.func.count()).where(live))
        answered = await self.session.scalar(
            sa.select(sa.func.count(sa.distinct(Submission.enterprise_id)))
            .join(
                SurveyTarget,
                sa.and_(
                    SurveyTarget.survey_id == Submission.survey_id,
                    SurveyTarget.enterprise_id == Submission.enterprise_id,
                ),
            )
            .where(live, Submission.review_state != "rejected")
        )
        return ResponseRate(asked=asked or 0, answered=answered or 0, submissions=submissions or 0)

    async def mine(self, actor: Principal) -> list[MySurvey]:
        """The open surveys asked of the principal's enterprises, soonest deadline first."""
        if not actor.enterprise_ids:
            return []
        rows = (
            await self.session.execute(
                sa.select(Survey, SurveyTarget, Enterprise.name)
                .join(SurveyTarget, SurveyTarget.survey_id == Survey.id)
                .join(Enterprise, Enterprise.id == SurveyTarget.enterprise_id)
                .where(SurveyTarget.enterprise_id.in_(actor.enterprise_ids), Survey.state == "open")
                .order_by(SurveyTarget.deadline, Survey.id)
            )
        ).all()
        answered = {
            (survey_id, enterprise_id)
            for survey_id, enterprise_id in (
                await self.session.execute(
                    sa.select(Submission.survey_id, Submission.enterprise_id).where(
                        Submission.enterprise_id.in_(actor.enterprise_ids),
                        Submission.test.is_(False),
                        Submission.review_state != "rejected",
                    )
                )
            ).all()
        }
        return [
            MySurvey(
                survey=s,
                enterprise_id=t.enterprise_id,
                enterprise_name=name,
                deadline=t.deadline,
                answered=(s.id, t.enterprise_id) in answered,
            )
            for s, t, name in rows
        ]
