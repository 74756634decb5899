"""A survey's figures: response rates, a summary per question, who has not answered.

Response rates are by township and by industry class; the missing are the enterprises asked
that have not answered.

Answered means a submission that is not a test and not rejected, as the response rate counts
it. The question summaries read those submissions' answers under the published version's
questions (a repeat's answers pooled over its rows): choices counted, numbers as count, min,
median, max and a histogram of equal bins.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role
from taihu.enterprises import Enterprise
from taihu.surveys.models import FormVersion, Submission, Survey, SurveyTarget

__all__ = ["Figures", "GroupRate", "Missing", "QuestionSummary", "survey_figures"]

_NUMBERS = ("integer", "decimal", "range")
_BINS = 5


@dataclass(frozen=True, slots=True)
class GroupRate:
    """Asked and answered within one township or industry class (``""``: not recorded)."""

    key: str
    asked: int
    answered: int

    @property
    def rate(self) -> float:
        """Answered over asked."""
        return self.answered / self.asked if self.asked else 0.0


@dataclass(frozen=True, slots=True)
class Missing:
    """An enterprise asked that has not answered."""

    enterprise_id: int
    name: str
    township_code: str | None
    industry_code: str | None
    deadline: date
    overdue: bool


@dataclass(slots=True)
class QuestionSummary:
    """One question's answers: choices counted, or numbers summarised."""

    path: str
    type: str
    label: dict[str, str]
    answers: int = 0
    choices: list[tuple[str, dict[str, str], int]] = field(default_factory=list)
    minimum: float | None = None
    median: float | None = None
    maximum: float | None = None
    histogram: list[tuple[float, float, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything the survey's analytics page shows."""

    by_township: list[GroupRate]
    by_industry: list[GroupRate]
    questions: list[QuestionSummary]
    missing: list[Missing]


def _values(
    data: dict[str, Any], item: dict[str, Any], repeats: dict[str, str | None]
) -> list[str]:
    """A question's non-empty answers in one submission (a repeat's over all its rows)."""
    chain, repeat = [], item.get("repeat")
    while repeat is not None:
        chain.append(repeat)
        repeat = repeats.get(repeat)
    holders: list[dict[str, Any]] = [data]
    for outer in reversed(chain):
        holders = [r for h in holders for r in (h.get(outer) or []) if isinstance(r, dict)]
    found = [str(h.get(item["path"]) or "").strip() for h in holders]
    return [v for v in found if v]


def _histogram(numbers: list[float]) -> list[tuple[float, float, int]]:
    low, high = min(numbers), max(numbers)
    if low == high:
        return [(low, high, len(numbers))]
    width = (high - low) / _BINS
    counts = [0] * _BINS
    for n in numbers:
        counts[min(int((n - low) / width), _BINS - 1)] += 1
    return [(low + i * width, low + (i + 1) * width, c) for i, c in enumerate(counts)]


def summarise(
    fields: list[dict[str, Any]], choices: dict[str, Any], answers: list[dict[str, Any]]
) -> list[QuestionSummary]:
    """The summary of each question over the given submissions' data."""
    repeats = {f["path"]: f.get("repeat") for f in fields if f["type"] == "repeat"}
    out = []
    for item in fields:
        kind = item["type"]
        if kind == "repeat":
            continue
        summary = QuestionSummary(item["path"], kind, item.get("label") or {})
        values = [v for data in answers for v in _values(data, item, repeats)]
        summary.answers = len(values)
        plain = kind.replace(" ", "_")  # pyxform says "select one", XLSForm "select_one"
        if plain.startswith(("select_one", "select_multiple", "select_all_that_apply")):
            many = not plain.startswith("select_one")
            picked = [p for v in values for p in (v.split() if many else [v])]
            listed = choices.get(str(item.get("list") or ""), [])
            names = [c["name"] for c in listed] + sorted(set(picked) - {c["name"] for c in listed})
            labels = {c["name"]: c.get("label") or {} for c in listed}
            summary.choices = [(n, labels.get(n, {}), picked.count(n)) for n in names]
        elif kind in _NUMBERS:
            numbers = []
            for v in values:
                try:
                    numbers.append(float(v))
                except ValueError:
                    continue
            summary.answers = len(numbers)
            if numbers:
                summary.minimum, summary.maximum = min(numbers), max(numbers)
                summary.median = statistics.median(numbers)
                summary.histogram = _histogram(numbers)
        out.append(summary)
    return out


def _rates(rows: list[tuple[str, bool]]) -> list[GroupRate]:
    asked: dict[str, int] = {}
    answered: dict[str, int] = {}
    for key, done in rows:
        asked[key] = asked.get(key, 0) + 1
        answered[key] = answered.get(key, 0) + int(done)
    return [GroupRate(k, asked[k], answered[k]) for k in sorted(asked)]


async def survey_figures(
    session: AsyncSession, actor: Principal, survey: Survey, today: date
) -> Figures:
    """The analytics of one survey (staff roles)."""
    actor.require_role(Role.BUREAU, Role.AUDITOR)
    live = sa.and_(
        Submission.survey_id == survey.id,
        Submission.test.is_(False),
        Submission.review_state != "rejected",
    )
    answered = set(
        await session.scalars(sa.select(Submission.enterprise_id).where(live).distinct())
    )
    targets = (
        await session.execute(
            sa.select(SurveyTarget, Enterprise)
            .join(Enterprise, Enterprise.id == SurveyTarget.enterprise_id)
            .where(SurveyTarget.survey_id == survey.id)
            .order_by(SurveyTarget.deadline, Enterprise.name, Enterprise.id)
        )
    ).all()
    by_township = _rates([(e.township_code or "", e.id in answered) for _, e in targets])
    by_industry = _rates([(e.industry_code or "", e.id in answered) for _, e in targets])
    missing = [
        Missing(e.id, e.name, e.township_code, e.industry_code, t.deadline, t.deadline < today)
        for t, e in targets
        if e.id not in answered
    ]
    version = None
    if survey.published_version_id is not None:
        version = await session.get(FormVersion, survey.published_version_id)
    questions: list[QuestionSummary] = []
    if version is not None:
        data = list(await session.scalars(sa.select(Submission.data).where(live)))
        questions = summarise(version.fields, version.choices, data)
    return Figures(by_township, by_industry, questions, missing)
