"""ODK Central's view of the surveys: one project, its forms, submissions, review and files.

Central's resources map onto Taihu's as follows: the **project** is the bureau's platform (one,
id 1); a **form** is a survey with a published version, its ``xmlFormId`` the XLSForm form id;
a form's **versions** are its published and retired versions; **submissions**, their review
states, comments and attachments are the surveys' own. Who sees what is what the surveys allow:
staff roles see every form and submission, an enterprise user the forms asked of its
enterprises and its enterprises' submissions only.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, User, record_audit
from taihu.core import N_, Clock, Conflict, InvalidInput, NotFound, SystemClock
from taihu.surveys.central.odata import And, Compare, Filter, Not, ODataError, Or
from taihu.surveys.central.shapes import PROJECT_ID, expected_files
from taihu.surveys.intake import Device, Intake
from taihu.surveys.models import (
    FormVersion,
    Submission,
    SubmissionAttachment,
    SubmissionEvent,
    Survey,
    SurveyTarget,
)
from taihu.surveys.review import Review

__all__ = ["Central", "SubmissionRow", "bad_query"]

SubmissionRow = tuple[Submission, FormVersion, int]  # with its version and files present
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


class Central:
    """The surveys as ODK Central's REST API and OData present them."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()
        self.review = Review(session, self.clock)
        self.intake = Intake(session, self.clock)

    @staticmethod
    def project(project_id: int) -> None:
        """Refuse any project but the platform's one."""
        if project_id != PROJECT_ID:
            raise NotFound(N_("no project {id}"), code="project_not_found", id=project_id)

    async def user_ids(self, names: set[str]) -> dict[str, int]:
        """The ids of the users with these names (Central names actors by id)."""
        if not names:
            return {}
        rows = await self.session.execute(
            sa.select(User.username, User.id).where(User.username.in_(sorted(names)))
        )
        return dict(rows.all())

    # -- forms ------------------------------------------------------------------------------

    async def forms(self, actor: Principal) -> list[tuple[Survey, FormVersion]]:
        """The published forms the principal sees: all for staff, those asked of its enterprises."""
        query = (
            sa.select(Survey, FormVersion)
            .join(FormVersion, FormVersion.id == Survey.published_version_id)
            .order_by(Survey.form_id)
        )
        if not actor.sees_all_enterprises:
            asked = sa.select(SurveyTarget.survey_id).where(
                SurveyTarget.enterprise_id.in_(actor.enterprise_ids)
            )
            query = query.where(Survey.id.in_(asked))
        return [(s, v) for s, v in (await self.session.execute(query)).all()]

    async def form(self, actor: Principal, form_id: str) -> tuple[Survey, FormVersion]:
        """One form the principal sees, with its published version."""
        for survey, version in await self.forms(actor):
            if survey.form_id == form_id:
                return survey, version
        raise NotFound(N_("no survey {form_id}"), code="survey_not_found", form_id=form_id)

    async def versions(self, actor: Principal, form_id: str) -> list[tuple[Survey, FormVersion]]:
        """A form's published and retired versions, newest first."""
        survey, _ = await self.form(actor, form_id)
        versions = await self.session.scalars(
            sa.select(FormVersion)
            .where(FormVersion.survey_id == survey.id, FormVersion.state != "draft")
            .order_by(FormVersion.id.desc())
        )
        return [(survey, v) for v in versions]

    async def version(self, actor: Principal, form_id: str, version: str) -> FormVersion:
        """One published or retired version of a form."""
        for _, found in await self.versions(actor, form_id):
            if found.version == version:
                return found
        raise NotFound(
            N_("form {form_id} has no version {version} here"),
            code="unknown_version",
            form_id=form_id,
            version=version,
        )

    # -- submissions ------------------------------------------------------------------------

    async def submissions(
        self,
        actor: Principal,
        form_id: str,
        where: Filter | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[list[SubmissionRow], int]:
        """A form's submissions the principal sees (newest first), filtered, and their total."""
        survey, _ = await self.form(actor, form_id)
        conditions: list[sa.ColumnElement[bool]] = [
            Submission.survey_id == survey.id,
            Submission.test.is_(False),
        ]
        if not actor.sees_all_enterprises:
            conditions.append(Submission.enterprise_id.in_(actor.enterprise_ids))
        if where is not None:
            try:
                conditions.append(_condition(where))
            except ODataError as exc:
                raise bad_query(exc) from None
        total = await self.session.scalar(
            sa.select(sa.func.count()).select_from(Submission).where(*conditions)
        )
        present = (
            sa.select(sa.func.count())
            .where(SubmissionAttachment.submission_id == Submission.id)
            .correlate(Submission)
            .scalar_subquery()
        )
        query = (
            sa.select(Submission, present)
            .where(*conditions)
            .order_by(Submission.id.desc())
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        rows = (await self.session.execute(query)).all()
        # Each version once, not once per row: a version holds its XLSForm and XForm.
        versions = {
            v.id: v
            for v in await self.session.scalars(
                sa.select(FormVersion).where(
                    FormVersion.id.in_(sorted({s.version_id for s, _ in rows}))
                )
            )
        }
        found = [(s, versions[s.version_id], int(n or 0)) for s, n in rows]
        return found, int(total or 0)

    async def repeat(self, actor: Principal, form_id: str, table: str) -> str:
        """The repeat a table name such as ``Submissions.suppliers`` names (not nested in one)."""
        _, version = await self.form(actor, form_id)
        path = table.removeprefix("Submissions.").replace(".", "/")
        if table.startswith("Submissions.") and any(
            f["path"] == path and f["type"] == "repeat" and f.get("repeat") is None
            for f in version.fields
        ):
            return path
        raise NotFound(N_("no table {table}"), code="table_not_found", table=table)

    async def submission(self, actor: Principal, form_id: str, instance_id: str) -> Submission:
        """One submission of a form the principal sees."""
        await self.form(actor, form_id)
        return await self.review.get(actor, form_id, instance_id)

    async def create(self, actor: Principal, form_id: str, xml: bytes) -> Submission:
        """A submission sent as XML: the bureau's answers name the enterprise by credit code."""
        actor.require_role(Role.BUREAU, Role.ENTERPRISE)
        await self.form(actor, form_id)
        enterprise_id = None
        if actor.role is Role.ENTERPRISE:
            if len(actor.enterprise_ids) != 1:
                raise InvalidInput(
                    N_("a user who acts for several enterprises sends answers from the console"),
                    code="enterprise_ambiguous",
                )
            enterprise_id = next(iter(actor.enterprise_ids))
        device = Device(name=f"api:{actor.name}", enterprise_id=enterprise_id, channel="api")
        result = await self.intake.submit(device, xml, [])
        survey = await self.session.get(Survey, result.submission.survey_id)
        if survey is None or survey.form_id != form_id:
            raise InvalidInput(
                N_("the submission is an answer to another form, not {form_id}"),
                code="wrong_form",
                form_id=form_id,
            )
        if not result.created:
            # Central refuses a second submission with the same instanceID.
            raise Conflict(
                N_("a different submission with instanceID {instance_id} exists"),
                code="duplicate_instance",
                instance_id=result.submission.instance_id,
            )
        return result.submission

    async def set_review(
        self, actor: Principal, form_id: str, instance_id: str, state: str
    ) -> Submission:
        """Set the review state (``hasIssues``, ``approved``, ``rejected``): the bureau."""
        await self.form(actor, form_id)
        return await self.review.set_state(actor, form_id, instance_id, state)

    async def comments(
        self, actor: Principal, form_id: str, instance_id: str
    ) -> list[SubmissionEvent]:
        """A submission's comments, oldest first."""
        await self.form(actor, form_id)
        events = await self.review.history(actor, form_id, instance_id)
        return [e for e in events if e.action == "comment" or (e.action == "review" and e.comment)]

    async def add_comment(
        self, actor: Principal, form_id: str, instance_id: str, body: str
    ) -> SubmissionEvent:
        """Comment on a submission (the bureau, or the answering enterprise's users)."""
        await self.form(actor, form_id)
        return await self.review.comment(actor, form_id, instance_id, body)

    # -- attachments ------------------------------------------------------------------------

    async def attachments(
        self, actor: Principal, form_id: str, instance_id: str
    ) -> list[tuple[str, bool]]:
        """The files a submission names, and whether each has arrived; then any others it has."""
        submission = await self.submission(actor, form_id, instance_id)
        have = {a.name for a in await self.review.attachments(actor, form_id, instance_id)}
        expected = expected_files(submission.data, await self._types(submission))
        return [(n, n in have) for n in expected] + [(n, True) for n in sorted(have - {*expected})]

    async def attachment(
        self, actor: Principal, form_id: str, instance_id: str, name: str
    ) -> SubmissionAttachment:
        """One file that came with a submission."""
        await self.form(actor, form_id)
        for found in await self.review.attachments(actor, form_id, instance_id):
            if found.name == name:
                return found
        raise NotFound(N_("no attachment {name}"), code="attachment_not_found", name=name)

    async def upload(
        self,
        actor: Principal,
        form_id: str,
        instance_id: str,
        name: str,
        content_type: str,
        content: bytes,
    ) -> bool:
        """Add (or replace) a file the submission names; whether one was replaced. Audited."""
        submission = await self.submission(actor, form_id, instance_id)
        if actor.role is not Role.BUREAU:
            actor.require_enterprise(submission.enterprise_id or 0)
        if name not in expected_files(submission.data, await self._types(submission)):
            raise InvalidInput(
                N_("the submission names no file {name}"), code="attachment_not_expected", name=name
            )
        found = await self.session.scalar(
            sa.select(SubmissionAttachment).where(
                SubmissionAttachment.submission_id == submission.id,
                SubmissionAttachment.name == name,
            )
        )
        kind = content_type.split(";", maxsplit=1)[0].strip()[:100] or "application/octet-stream"
        if found is None:
            self.session.add(
                SubmissionAttachment(
                    submission_id=submission.id, name=name, content_type=kind, content=content
                )
            )
        else:
            found.content_type, found.content = kind, content
        await self.session.flush()
        await record_audit(
            self.session,
            actor,
            "survey.attachment",
            "survey_submission",
            submission.id,
            after={"name": name, "bytes": len(content), "replaced": found is not None},
            at=self.clock.now(),
        )
        return found is not None

    async def _types(self, submission: Submission) -> dict[str, str]:
        version = await self.session.get(FormVersion, submission.version_id)
        return {f["path"]: f["type"] for f in version.fields} if version else {}


def bad_query(exc: ODataError) -> InvalidInput:
    """The refusal of an OData query that cannot be read."""
    return InvalidInput(
        N_("the OData query cannot be read: {reason}"), code="bad_odata", reason=str(exc)
    )


def _condition(tree: Filter) -> sa.ColumnElement[bool]:
    """The SQL condition of a ``$filter`` tree over the ``__system`` fields Central offers."""
    if isinstance(tree, And):
        return sa.and_(_condition(tree.left), _condition(tree.right))
    if isinstance(tree, Or):
        return sa.or_(_condition(tree.left), _condition(tree.right))
    if isinstance(tree, Not):
        return sa.not_(_condition(tree.inner))
    return _compare(tree)


def _compare(tree: Compare) -> sa.ColumnElement[bool]:
    compare, value, field = _COMPARE[tree.op], tree.value, tree.field
    if field == "__system/reviewState":
        if tree.op not in ("eq", "ne") or not isinstance(value, str | None):
            raise ODataError("reviewState is compared with eq or ne to a state or null")
        # Central's null is a submission nobody has reviewed: Taihu's ``received``.
        return cast(sa.ColumnElement[bool], compare(Submission.review_state, value or "received"))
    if field in ("__system/submissionDate", "__system/updatedAt"):
        column = Submission.created_at if field.endswith("Date") else Submission.updated_at
        if value is None and field.endswith("updatedAt"):
            # Central's updatedAt is null until the submission changes.
            return cast(sa.ColumnElement[bool], compare(column, Submission.created_at))
        if not isinstance(value, datetime):
            raise ODataError(f"{field} is compared with a date or time")
        return cast(sa.ColumnElement[bool], compare(column, value))
    if field in ("__id", "meta/instanceID"):
        if not isinstance(value, str):
            raise ODataError(f"{field} is compared with text")
        return cast(sa.ColumnElement[bool], compare(Submission.instance_id, value))
    raise ODataError(f"filtering on {field} is not offered")
