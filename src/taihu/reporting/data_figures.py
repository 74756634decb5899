"""The figures of data tasks: totals, counts and response rates of a period's answers.

A report's period reads the data task's periods that begin within it (one month of a monthly
task for a monthly report, three for a quarterly one), and of each enterprise asked its latest
answer: **approved** ones only by default, or every one not rejected (``state=received``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from taihu.core import N_, InvalidInput, NotFound
from taihu.enterprises import Enterprise
from taihu.reporting.models import DataPeriod, DataTask
from taihu.surveys import Submission, SurveyTarget

if TYPE_CHECKING:
    from taihu.reporting.figures import Scope
    from taihu.reporting.workbook import CellValue

__all__ = ["DATA_PARAMS", "data_asked", "data_count", "data_rate", "data_sum", "find_answer"]

DATA_PARAMS = {
    "task": N_("the data task's key"),
    "state": N_("approved (default): approved answers only; received: every answer not rejected"),
    "township": N_("township code"),
    "industry": N_("industry code or its first digits"),
}
_STATES = ("approved", "received")


def find_answer(data: Any, key: str) -> Any:
    """A field of a submission's answers, looked for through its groups."""
    if isinstance(data, dict):
        if key in data:
            return data[key]
        for value in data.values():
            found = find_answer(value, key)
            if found is not None:
                return found
    return None


@dataclass(frozen=True, slots=True)
class _Answers:
    asked: set[tuple[int, int]]  # (survey, enterprise)
    latest: dict[tuple[int, int], dict[str, Any]]  # an asked enterprise's latest answer


def _audience(query: Any, column: Any, params: Mapping[str, str]) -> Any:
    if township := params.get("township"):
        query = query.join(Enterprise, Enterprise.id == column).where(
            Enterprise.township_code == township
        )
    if industry := params.get("industry"):
        if not township:
            query = query.join(Enterprise, Enterprise.id == column)
        query = query.where(Enterprise.industry_code.startswith(industry, autoescape=True))
    return query


async def _answers(scope: Scope, params: Mapping[str, str]) -> _Answers:
    state = params.get("state", "") or "approved"
    if state not in _STATES:
        raise InvalidInput(
            N_("state is approved or received, not {value}"), code="bad_param", value=state[:40]
        )
    key = params.get("task", "")
    task_id = await scope.session.scalar(sa.select(DataTask.id).where(DataTask.key == key))
    if task_id is None:
        raise NotFound(N_("no data task {key}"), code="data_task_not_found", key=key[:40])
    surveys = list(
        await scope.session.scalars(
            sa.select(DataPeriod.survey_id).where(
                DataPeriod.task_id == task_id,
                DataPeriod.period_start.between(scope.period.start, scope.period.end),
            )
        )
    )
    targets = _audience(
        sa.select(SurveyTarget.survey_id, SurveyTarget.enterprise_id).where(
            SurveyTarget.survey_id.in_(surveys)
        ),
        SurveyTarget.enterprise_id,
        params,
    )
    asked = {(s, e) for s, e in (await scope.session.execute(targets)).all()}
    answers = _audience(
        sa.select(Submission.survey_id, Submission.enterprise_id, Submission.data)
        .where(Submission.survey_id.in_(surveys), Submission.test.is_(False))
        .order_by(Submission.created_at, Submission.id),
        Submission.enterprise_id,
        params,
    )
    if state == "approved":
        answers = answers.where(Submission.review_state == "approved")
    else:
        answers = answers.where(Submission.review_state != "rejected")
    latest = {}
    for survey_id, enterprise_id, data in (await scope.session.execute(answers)).all():
        if (survey_id, enterprise_id) in asked:  # an answer nobody asked for is not counted
            latest[survey_id, enterprise_id] = data
    return _Answers(asked, latest)


async def data_sum(scope: Scope, params: Mapping[str, str]) -> CellValue:
    """The total of a numeric answer over the enterprises' latest answers."""
    total = 0.0
    for data in (await _answers(scope, params)).latest.values():
        value = find_answer(data, params.get("field", ""))
        try:
            total += float(value) if value not in (None, "") else 0.0
        except (TypeError, ValueError):
            continue  # a text answer in a number field: not counted
    return total


async def data_count(scope: Scope, params: Mapping[str, str]) -> CellValue:
    """The enterprises that answered."""
    return len((await _answers(scope, params)).latest)


async def data_asked(scope: Scope, params: Mapping[str, str]) -> CellValue:
    """The enterprises asked."""
    return len((await _answers(scope, params)).asked)


async def data_rate(scope: Scope, params: Mapping[str, str]) -> CellValue:
    """Answered over asked, 0-1 (0 when nobody was asked)."""
    found = await _answers(scope, params)
    return len(found.latest) / len(found.asked) if found.asked else 0.0
