"""Reviewing submissions as ODK Central does: states, comments, and answer edits kept whole.

States: ``received`` → ``hasIssues`` / ``edited`` / ``approved`` / ``rejected``; a reviewer may
move between them freely, and editing an answer sets ``edited``. An edit changes the answer in
the submission's data and keeps who, when, the value before and after in its history; the XML
as it arrived is never changed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Clock, InvalidInput, NotFound, SystemClock
from taihu.enterprises import Enterprise
from taihu.surveys.export import (
    CsvZipStream,
    ExportFormat,
    ExportRow,
    Layout,
    TableSink,
    open_sink,
)
from taihu.surveys.feeding import propose
from taihu.surveys.models import (
    FormVersion,
    Submission,
    SubmissionAttachment,
    SubmissionEvent,
    Survey,
)

__all__ = [
    "EXPORT_BATCH",
    "REVIEW_STATES",
    "ExportPlan",
    "Progress",
    "Review",
    "SubmissionFilter",
]

REVIEW_STATES = ("received", "hasIssues", "edited", "approved", "rejected")
_SET_BY_REVIEWER = ("hasIssues", "approved", "rejected")
EXPORT_BATCH = 500
Progress = Callable[[int, int], None]  # (submissions written, submissions in the export)
_STEP = re.compile(r"^([A-Za-z_][\w.\-]*)(?:\[(\d+)\])?$")


@dataclass(frozen=True, slots=True)
class SubmissionFilter:
    """Which submissions of a survey to list."""

    review_state: str | None = None
    enterprise_id: int | None = None
    include_test: bool = False


class Review:
    """Submissions of a survey, their review and history."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    async def survey(self, form_id: str) -> Survey:
        """A survey by its form id (any role may name one; the rows are scoped)."""
        survey = await self.session.scalar(sa.select(Survey).where(Survey.form_id == form_id))
        if survey is None:
            raise NotFound(N_("no survey {form_id}"), code="survey_not_found", form_id=form_id)
        return survey

    async def find(
        self, actor: Principal, form_id: str, where: SubmissionFilter, *, limit: int, offset: int
    ) -> tuple[list[tuple[Submission, str]], int]:
        """A page of submissions (newest first) with their version, and the total."""
        survey = await self.survey(form_id)
        conditions: list[sa.ColumnElement[bool]] = [Submission.survey_id == survey.id]
        if not where.include_test:
            conditions.append(Submission.test.is_(False))
        if where.review_state:
            conditions.append(Submission.review_state == where.review_state)
        if where.enterprise_id is not None:
            conditions.append(Submission.enterprise_id == where.enterprise_id)
        if not actor.sees_all_enterprises:
            conditions.append(Submission.enterprise_id.in_(actor.enterprise_ids))
        total = await self.session.scalar(sa.select(sa.func.count()).where(*conditions))
        rows = await self.session.execute(
            sa.select(Submission, FormVersion.version)
            .join(FormVersion, FormVersion.id == Submission.version_id)
            .where(*conditions)
            .order_by(Submission.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [(s, v) for s, v in rows.all()], total or 0

    async def get(self, actor: Principal, form_id: str, instance_id: str) -> Submission:
        """One submission the principal may see."""
        survey = await self.survey(form_id)
        submission = await self.session.scalar(
            sa.select(Submission).where(
                Submission.survey_id == survey.id, Submission.instance_id == instance_id
            )
        )
        if submission is None or not (
            actor.sees_all_enterprises
            or (
                submission.enterprise_id is not None
                and submission.enterprise_id in actor.enterprise_ids
            )
        ):
            raise NotFound(
                N_("no submission {instance_id}"),
                code="submission_not_found",
                instance_id=instance_id,
            )
        return submission

    async def version_of(self, submission: Submission) -> str:
        """The version a submission was made with."""
        version = await self.session.get(FormVersion, submission.version_id)
        return version.version if version else ""

    async def history(
        self, actor: Principal, form_id: str, instance_id: str
    ) -> list[SubmissionEvent]:
        """A submission's events, oldest first."""
        submission = await self.get(actor, form_id, instance_id)
        return list(
            await self.session.scalars(
                sa.select(SubmissionEvent)
                .where(SubmissionEvent.submission_id == submission.id)
                .order_by(SubmissionEvent.id)
            )
        )

    async def attachments(
        self, actor: Principal, form_id: str, instance_id: str
    ) -> list[SubmissionAttachment]:
        """The files that came with a submission."""
        submission = await self.get(actor, form_id, instance_id)
        return list(
            await self.session.scalars(
                sa.select(SubmissionAttachment)
                .where(SubmissionAttachment.submission_id == submission.id)
                .order_by(SubmissionAttachment.name)
            )
        )

    async def set_state(
        self, actor: Principal, form_id: str, instance_id: str, state: str, comment: str = ""
    ) -> Submission:
        """Mark a submission as having issues, approved or rejected (bureau), with a comment."""
        actor.require_role(Role.BUREAU)
        if state not in _SET_BY_REVIEWER:
            raise InvalidInput(
                N_("{state} is not a review state ({choices})"),
                code="bad_review_state",
                state=state,
                choices=", ".join(_SET_BY_REVIEWER),
            )
        submission = await self.get(actor, form_id, instance_id)
        before, now = submission.review_state, self.clock.now()
        submission.review_state, submission.updated_at = state, now
        self.session.add(
            SubmissionEvent(
                submission_id=submission.id,
                at=now,
                actor=actor.name,
                action="review",
                review_state=state,
                comment=comment.strip()[:2000],
            )
        )
        await record_audit(
            self.session,
            actor,
            "survey.review",
            "survey_submission",
            submission.id,
            before={"review_state": before},
            after={"review_state": state},
            at=now,
        )
        if state == "approved" and not submission.test:
            # Bound answers become proposals an analyst accepts or rejects (feeding.py).
            await propose(self.session, await self.survey(form_id), submission, now)
        return submission

    async def comment(
        self, actor: Principal, form_id: str, instance_id: str, comment: str
    ) -> SubmissionEvent:
        """Comment on a submission (the bureau, or the answering enterprise's users)."""
        submission = await self.get(actor, form_id, instance_id)
        if actor.role is not Role.BUREAU:
            actor.require_enterprise(submission.enterprise_id or 0)
        text = comment.strip()
        if not text or len(text) > 2000:
            raise InvalidInput(N_("a comment needs 1 to 2000 characters"), code="bad_comment")
        event = SubmissionEvent(
            submission_id=submission.id,
            at=self.clock.now(),
            actor=actor.name,
            action="comment",
            comment=text,
        )
        self.session.add(event)
        await record_audit(
            self.session,
            actor,
            "survey.comment",
            "survey_submission",
            submission.id,
            after={"comment": text},
        )
        return event

    async def edit(
        self,
        actor: Principal,
        form_id: str,
        instance_id: str,
        path: str,
        value: str,
        comment: str = "",
    ) -> Submission:
        """Change one answer (``suppliers[2]/share``: the second supplier's); history keeps it."""
        actor.require_role(Role.BUREAU)
        submission = await self.get(actor, form_id, instance_id)
        version = await self.session.get(FormVersion, submission.version_id)
        assert version is not None
        data = _copy(submission.data)
        holder, key = _locate(data, path, {f["path"]: f["type"] for f in version.fields})
        before = holder.get(key)
        holder[key] = value
        now = self.clock.now()
        submission.data, submission.review_state, submission.updated_at = data, "edited", now
        self.session.add(
            SubmissionEvent(
                submission_id=submission.id,
                at=now,
                actor=actor.name,
                action="edit",
                review_state="edited",
                comment=comment.strip()[:2000],
                path=path[:300],
                before=before,
                after=value,
            )
        )
        await record_audit(
            self.session,
            actor,
            "survey.edit",
            "survey_submission",
            submission.id,
            before={"path": path, "value": before},
            after={"path": path, "value": value},
            at=now,
        )
        return submission

    async def export_plan(
        self, actor: Principal, form_id: str, *, include_test: bool = False
    ) -> ExportPlan:
        """What an export of the survey reads and writes (staff roles; the survey must exist)."""
        actor.require_role(Role.BUREAU, Role.AUDITOR)
        survey = await self.survey(form_id)
        versions = list(
            await self.session.scalars(
                sa.select(FormVersion)
                .where(FormVersion.survey_id == survey.id)
                .order_by(FormVersion.id.desc())
            )
        )
        # Columns, not entities: a streamed export must not fill the session's identity map.
        query = (
            sa.select(
                Submission.instance_id,
                Submission.created_at,
                Submission.version_id,
                Submission.review_state,
                Submission.submitter,
                Submission.data,
                Enterprise.credit_code,
                Enterprise.name,
            )
            .outerjoin(Enterprise, Enterprise.id == Submission.enterprise_id)
            .where(Submission.survey_id == survey.id)
            .order_by(Submission.id)
        )
        if not include_test:
            query = query.where(Submission.test.is_(False))
        return ExportPlan(
            Layout(survey.form_id, [v.fields for v in versions]),
            query,
            {v.id: v.version for v in versions},
        )

    async def _batches(self, plan: ExportPlan, batch: int) -> AsyncIterator[list[ExportRow]]:
        """The plan's submissions from a server-side cursor, ``batch`` at a time."""
        result = await self.session.stream(plan.query.execution_options(yield_per=batch))
        async for part in result.partitions(batch):
            yield [_export_row(row, plan.versions) for row in part]

    async def export_to(
        self,
        actor: Principal,
        form_id: str,
        fmt: ExportFormat,
        target: Path,
        *,
        include_test: bool = False,
        progress: Progress | None = None,
        batch: int = EXPORT_BATCH,
    ) -> int:
        """Write the export to ``target`` as the rows are read, a batch at a time; the count.

        Each batch is written to the sink in a worker thread (openpyxl and zipping are CPU work
        the event loop should not wait on). ``progress(done, total)`` follows every batch.
        """
        plan = await self.export_plan(actor, form_id, include_test=include_test)
        total = await self.session.scalar(
            sa.select(sa.func.count()).select_from(plan.query.order_by(None).subquery())
        )
        total = total or 0
        sink = await asyncio.to_thread(open_sink, plan.layout, fmt, target)
        done = 0
        if progress is not None:
            progress(done, total)
        async for rows in self._batches(plan, batch):
            await asyncio.to_thread(_write, plan.layout, sink, rows)
            done += len(rows)
            if progress is not None:
                progress(done, max(total, done))
        await asyncio.to_thread(sink.close)
        return done

    async def stream_csv(
        self, plan: ExportPlan, *, batch: int = EXPORT_BATCH
    ) -> AsyncIterator[bytes]:
        """The CSV zip of a plan as bytes, sent while the rows are still being read."""
        stream = CsvZipStream(plan.layout)
        try:
            async for rows in self._batches(plan, batch):
                await asyncio.to_thread(_write, plan.layout, stream, rows)
                if chunk := stream.take():
                    yield chunk
            rest = stream.finish()
            while (piece := await asyncio.to_thread(_next_chunk, rest)) is not None:
                yield piece
        finally:
            stream.close()


@dataclass(frozen=True, slots=True)
class ExportPlan:
    """An export's tables and the query of its rows.

    Any session may run the query: a streamed answer reads the rows after the request's own
    session has ended.
    """

    layout: Layout
    query: sa.Select[Any]
    versions: dict[int, str]


def _export_row(row: sa.Row[Any], versions: dict[int, str]) -> ExportRow:
    iid, created, version_id, state, submitter, data, code, name = tuple(row)
    return ExportRow(
        instance_id=iid,
        submitted_at=created.isoformat(),
        version=versions.get(version_id, ""),
        review_state=state,
        credit_code=code or "",
        enterprise=name or "",
        submitter=submitter,
        data=data,
    )


def _next_chunk(chunks: Iterator[bytes]) -> bytes | None:
    return next(chunks, None)


def _write(layout: Layout, sink: TableSink, rows: list[ExportRow]) -> None:
    for s in rows:
        for key, cells in layout.rows(s):
            sink.append(key, cells)


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    return {k: [_copy(i) for i in v] if isinstance(v, list) else v for k, v in data.items()}


def _locate(data: dict[str, Any], path: str, known: dict[str, str]) -> tuple[dict[str, Any], str]:
    """The dict holding the answer at ``path`` and its key (refusing paths the form lacks).

    ``known`` maps the version's paths to their types: a repeat must be followed by the
    position of one of its rows (``suppliers[2]``), an answer must be the last step.
    """
    holder, plain = data, []
    steps = path.split("/")
    for position, step in enumerate(steps):
        match = _STEP.match(step)
        if match is None:
            break
        plain.append(match[1])
        key = "/".join(plain)
        if (match[2] is not None) != (known.get(key) == "repeat"):
            break
        if match[2] is not None:
            items = holder.get(key)
            index = int(match[2]) - 1
            if not isinstance(items, list) or not 0 <= index < len(items):
                break
            holder = items[index]
            continue
        if position == len(steps) - 1 and key in known and known[key] != "repeat":
            return holder, key
    raise InvalidInput(N_("the form has no answer at {path}"), code="bad_answer_path", path=path)
