"""API shapes of the map feeding and the survey analytics, with examples for ``/docs``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from taihu.surveys.analytics import Figures, GroupRate, Missing, QuestionSummary
from taihu.surveys.proposals import ProposalRow

__all__ = ["FiguresOut", "InstalledOut", "ProposalOut"]


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class ProposalOut(BaseModel):
    """A registry update or supply edge an approved submission proposes, with before/after."""

    model_config = _examples({
        "id": 7, "key": "edge:suppliers[1]", "kind": "edge", "state": "proposed",
        "enterprise_id": 12, "enterprise_name": "华纺平板", "instance_id": "uuid:5f0c…",
        "before": None, "after": {"supplier_name": "盛泽化纤", "supplier_code": None,
                                  "buyer_code": "91320509MA0Q00011X", "input": "poly.chips",
                                  "value": 1200.0, "ring": "china", "substitutable": False},
        "problem": None, "edge_id": None, "decided_by": None, "decided_at": None,
    })  # fmt: skip

    id: int
    key: str
    kind: str
    state: str
    enterprise_id: int
    enterprise_name: str
    instance_id: str
    before: Any
    after: dict[str, Any]
    problem: str | None
    edge_id: int | None
    decided_by: str | None
    decided_at: datetime | None

    @classmethod
    def of(cls, row: ProposalRow) -> ProposalOut:
        """The shape of a proposal."""
        p = row.proposal
        return cls(id=p.id, key=p.key, kind=p.kind, state=p.state, enterprise_id=p.enterprise_id,
                   enterprise_name=row.enterprise_name, instance_id=row.instance_id,
                   before=p.before, after=p.after, problem=p.problem, edge_id=p.edge_id,
                   decided_by=p.decided_by, decided_at=p.decided_at)  # fmt: skip


class InstalledOut(BaseModel):
    """The built-in chain survey's published version, and whether this call made it."""

    model_config = _examples(
        {"form_id": "taihu_chain_survey", "version": "chains-optical-fibre.1-…", "new": True}
    )

    form_id: str
    version: str
    new: bool


class GroupRateOut(BaseModel):
    """Asked and answered within a township or an industry class."""

    key: str
    asked: int
    answered: int
    rate: float

    @classmethod
    def of(cls, g: GroupRate) -> GroupRateOut:
        """The shape of a group's rate."""
        return cls(key=g.key, asked=g.asked, answered=g.answered, rate=g.rate)


class MissingOut(BaseModel):
    """An enterprise asked that has not answered."""

    enterprise_id: int
    name: str
    township_code: str | None
    industry_code: str | None
    deadline: date
    overdue: bool

    @classmethod
    def of(cls, m: Missing) -> MissingOut:
        """The shape of a missing answer."""
        return cls(enterprise_id=m.enterprise_id, name=m.name, township_code=m.township_code,
                   industry_code=m.industry_code, deadline=m.deadline,
                   overdue=m.overdue)  # fmt: skip


class QuestionOut(BaseModel):
    """One question's answers: choices counted, or a number summary with a histogram."""

    path: str
    type: str
    label: dict[str, str]
    answers: int
    choices: list[dict[str, Any]]
    minimum: float | None
    median: float | None
    maximum: float | None
    histogram: list[dict[str, float]]

    @classmethod
    def of(cls, q: QuestionSummary) -> QuestionOut:
        """The shape of a question summary."""
        return cls(path=q.path, type=q.type, label=q.label, answers=q.answers,
                   choices=[{"name": n, "label": lb, "count": c} for n, lb, c in q.choices],
                   minimum=q.minimum, median=q.median, maximum=q.maximum,
                   histogram=[{"low": lo, "high": hi, "count": c}
                              for lo, hi, c in q.histogram])  # fmt: skip


class FiguresOut(BaseModel):
    """A survey's analytics."""

    model_config = _examples({
        "by_township": [{"key": "320509102", "asked": 4, "answered": 3, "rate": 0.75}],
        "by_industry": [{"key": "2822", "asked": 2, "answered": 1, "rate": 0.5}],
        "questions": [{"path": "employees", "type": "integer", "label": {"English (en)":
                       "Employees"}, "answers": 3, "choices": [], "minimum": 40, "median": 120,
                       "maximum": 800, "histogram": [{"low": 40, "high": 192, "count": 2}]}],
        "missing": [{"enterprise_id": 9, "name": "七都光电", "township_code": "320509102",
                     "industry_code": "3976", "deadline": "2026-12-31", "overdue": False}],
    })  # fmt: skip

    by_township: list[GroupRateOut]
    by_industry: list[GroupRateOut]
    questions: list[QuestionOut]
    missing: list[MissingOut]

    @classmethod
    def of(cls, f: Figures) -> FiguresOut:
        """The shape of the figures."""
        return cls(by_township=[GroupRateOut.of(g) for g in f.by_township],
                   by_industry=[GroupRateOut.of(g) for g in f.by_industry],
                   questions=[QuestionOut.of(q) for q in f.questions],
                   missing=[MissingOut.of(m) for m in f.missing])  # fmt: skip
