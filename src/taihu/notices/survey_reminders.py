"""Reminders of overdue surveys, through the console inbox (surveys sit below notices).

An enterprise asked to answer a survey that is still open, whose deadline has passed and that
has not answered (a submission that is not a test and not rejected) gets a notice in its inbox:
one notice per survey and round, addressed to the enterprises not yet reminded that day, so an
enterprise hears about a survey at most once a day however often the job runs. Each reminder
is a published notice (audited as such) and a ``survey.remind`` audit entry.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, record_audit
from taihu.core import Clock
from taihu.enterprises import Enterprise
from taihu.notices.audience import Audience
from taihu.notices.models import SurveyReminder
from taihu.notices.service import NoticeDraft, NoticeService
from taihu.surveys import Submission, Survey, SurveyTarget

__all__ = ["ReminderRound", "remind_overdue_surveys"]

SYSTEM = "survey-reminders"
_BODY = """贵单位尚未填报调查“{title}”，填报截止日期 {deadline} 已过。请尽快在平台“我的调查”中填报。

Your enterprise has not yet answered the survey "{title}", due on {deadline}. Please answer it
under "My surveys" in the console.
"""  # noqa: RUF001 - Chinese prose takes full-width punctuation


@dataclass(frozen=True, slots=True)
class ReminderRound:
    """What one round did: the notices published and the enterprises they reached."""

    notices: int
    enterprises: int


async def _overdue(session: AsyncSession, clock: Clock) -> dict[int, list[tuple[int, str]]]:
    """Per open survey, the overdue enterprises not yet reminded today: (id, credit code)."""
    today = clock.now().date()
    answered = (
        sa.select(Submission.id)
        .where(
            Submission.survey_id == SurveyTarget.survey_id,
            Submission.enterprise_id == SurveyTarget.enterprise_id,
            Submission.test.is_(False),
            Submission.review_state != "rejected",
        )
        .exists()
    )
    reminded = (
        sa.select(SurveyReminder.id)
        .where(
            SurveyReminder.survey_id == SurveyTarget.survey_id,
            SurveyReminder.enterprise_id == SurveyTarget.enterprise_id,
            SurveyReminder.day == today,
        )
        .exists()
    )
    rows = await session.execute(
        sa.select(SurveyTarget.survey_id, Enterprise.id, Enterprise.credit_code)
        .join(Survey, Survey.id == SurveyTarget.survey_id)
        .join(Enterprise, Enterprise.id == SurveyTarget.enterprise_id)
        .where(Survey.state == "open", SurveyTarget.deadline < today, ~answered, ~reminded)
        .order_by(SurveyTarget.survey_id, Enterprise.id)
    )
    found: dict[int, list[tuple[int, str]]] = {}
    for survey_id, enterprise_id, code in rows.all():
        found.setdefault(survey_id, []).append((enterprise_id, code))
    return found


async def remind_overdue_surveys(session: AsyncSession, clock: Clock) -> ReminderRound:
    """Publish today's reminders of overdue surveys (at most one per enterprise and survey)."""
    actor = Principal.system(SYSTEM)
    notices, reached = 0, 0
    today, now = clock.now().date(), clock.now()
    service = NoticeService(session, clock)
    for survey_id, targets in (await _overdue(session, clock)).items():
        survey = await session.get(Survey, survey_id)
        assert survey is not None
        deadline = await session.scalar(
            sa.select(sa.func.min(SurveyTarget.deadline)).where(
                SurveyTarget.survey_id == survey_id,
                SurveyTarget.enterprise_id.in_([e for e, _ in targets]),
            )
        )
        body = _BODY.format(title=survey.title, deadline=deadline)
        for start in range(0, len(targets), 500):  # an audience names at most 500
            chunk = targets[start : start + 500]
            draft = NoticeDraft(f"调查填报提醒 Survey reminder: {survey.title}"[:200], body,
                                Audience("enterprises", tuple(c for _, c in chunk)))  # fmt: skip
            notice = await service.create(actor, draft)
            await service.publish(actor, notice.id)
            session.add_all(
                SurveyReminder(survey_id=survey_id, enterprise_id=e, day=today,
                               notice_id=notice.id, created_at=now)
                for e, _ in chunk
            )  # fmt: skip
            await session.flush()
            await record_audit(session, actor, "survey.remind", "survey", survey_id,
                               after={"notice": notice.id, "enterprises": [e for e, _ in chunk],
                                      "day": today.isoformat()}, at=now)  # fmt: skip
            notices, reached = notices + 1, reached + len(chunk)
    return ReminderRound(notices, reached)
