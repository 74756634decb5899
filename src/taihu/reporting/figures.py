"""The catalogue of named figures a template's cells are bound to, each with its parameters.

A figure is read for one period of a task (:class:`Scope`) and gives a value for one cell or,
for a table figure, rows for a region. Figures read the other contexts through their public
names; every one is documented here and in ``docs/reporting.md``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal
from taihu.core import N_, Clock, InvalidInput, TaihuError
from taihu.devices import Device
from taihu.enterprises import Enterprise
from taihu.identifiers import StatsDaily
from taihu.monitor import GROUP_KINDS, IndexValues, MonitorService, PowerDay
from taihu.programmes import Award, Programme
from taihu.reporting.data_figures import (
    DATA_PARAMS,
    data_asked,
    data_count,
    data_rate,
    data_sum,
    find_answer,
)
from taihu.reporting.periods import Period
from taihu.reporting.workbook import CellValue
from taihu.settings import MonitorSettings
from taihu.surveys import Submission, Survey

__all__ = ["CATALOGUE", "Figure", "FigureError", "Scope", "check_params"]

Rows = list[list[CellValue]]


class FigureError(TaihuError):
    """A figure could not be read for the period (kept with the draft, the cell left empty)."""

    status = 422


@dataclass(slots=True)
class Scope:
    """What a figure reads with: the session, the period, the acting principal."""

    session: AsyncSession
    clock: Clock
    period: Period
    actor: Principal
    monitor: MonitorSettings = field(default_factory=MonitorSettings)


@dataclass(frozen=True, slots=True)
class Figure:
    """A named figure: what it is, its parameters (name → meaning), cell or table."""

    name: str
    doc: str
    params: Mapping[str, str]
    read: Callable[[Scope, Mapping[str, str]], Awaitable[CellValue | Rows]]
    table: bool = False
    required: tuple[str, ...] = ()


def _bool(params: Mapping[str, str], key: str) -> bool | None:
    value = params.get(key, "").strip().lower()
    if not value:
        return None
    if value in ("1", "true", "yes", "是"):
        return True
    if value in ("0", "false", "no", "否"):
        return False
    raise InvalidInput(
        N_("{key} is yes or no, not {value}"), code="bad_param", key=key, value=value[:40]
    )


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(), UTC)


# -- monitor ---------------------------------------------------------------------------------

_GROUP_DOC = N_("one of township, industry, chain, segment, list (its key in the next parameter)")
_DAY_DOC = N_(
    "the day read: latest (default: the period's last day with readings), start, end, or YYYY-MM-DD"
)


async def _monitor_day(scope: Scope, params: Mapping[str, str]) -> date:
    choice = params.get("day", "latest") or "latest"
    p = scope.period
    if choice == "start":
        return p.start
    if choice == "end":
        return p.end
    if choice == "latest":
        latest = await scope.session.scalar(
            sa.select(sa.func.max(PowerDay.day)).where(PowerDay.day.between(p.start, p.end))
        )
        return latest or p.end
    try:
        return date.fromisoformat(choice)
    except ValueError:
        raise InvalidInput(
            N_("day is latest, start, end or a date, not {value}"),
            code="bad_param",
            value=choice[:40],
        ) from None


async def _index(scope: Scope, params: Mapping[str, str]) -> IndexValues:
    kind = params.get("group", "")
    if kind and kind not in GROUP_KINDS:
        raise InvalidInput(
            N_("group is one of {allowed}, not {value}"),
            code="bad_param",
            allowed=", ".join(GROUP_KINDS),
            value=kind[:40],
        )
    day = await _monitor_day(scope, params)
    service = MonitorService(scope.session, scope.monitor, scope.clock)
    report = await service.index(scope.actor, day, [kind] if kind else [])
    if not kind:
        return report.district
    key = params.get("key", "")
    if key not in report.groups.get(kind, {}):
        raise FigureError(
            N_("no {kind} group {key} on {day}"),
            code="no_group",
            kind=kind,
            key=key[:40],
            day=day.isoformat(),
        )
    return report.groups[kind][key][1]


def _index_figure(attribute: str) -> Callable[[Scope, Mapping[str, str]], Awaitable[CellValue]]:
    async def read(scope: Scope, params: Mapping[str, str]) -> CellValue:
        value: CellValue = getattr(await _index(scope, params), attribute)
        return value

    return read


async def _monitor_table(scope: Scope, params: Mapping[str, str]) -> Rows:
    kind = params.get("group", "township") or "township"
    if kind not in GROUP_KINDS:
        raise InvalidInput(
            N_("group is one of {allowed}, not {value}"),
            code="bad_param",
            allowed=", ".join(GROUP_KINDS),
            value=kind[:40],
        )
    day = await _monitor_day(scope, params)
    report = await MonitorService(scope.session, scope.monitor, scope.clock).index(
        scope.actor, day, [kind]
    )
    return [
        [name, v.enterprises, v.resumed, v.resumption_rate, v.production_rate]
        for _, (name, v) in sorted(report.groups.get(kind, {}).items())
    ]


# -- registries and statistics ---------------------------------------------------------------


async def _enterprises(scope: Scope, params: Mapping[str, str]) -> CellValue:
    query = (
        sa.select(sa.func.count())
        .select_from(Enterprise)
        .where(Enterprise.created_at < _end_of(scope.period.end))
    )
    if township := params.get("township"):
        query = query.where(Enterprise.township_code == township)
    if industry := params.get("industry"):
        query = query.where(Enterprise.industry_code.startswith(industry, autoescape=True))
    for key, column in (
        ("above_size", Enterprise.above_size),
        ("key_enterprise", Enterprise.key_enterprise),
    ):
        flag = _bool(params, key)
        if flag is not None:
            query = query.where(column.is_(flag))
    return int(await scope.session.scalar(query) or 0)


async def _awards(scope: Scope, params: Mapping[str, str]) -> CellValue:
    end = scope.period.end
    query = (
        sa.select(sa.func.count())
        .select_from(Award)
        .join(Programme)
        .where(Award.since <= end, sa.or_(Award.until.is_(None), Award.until >= end))
    )
    if programme := params.get("programme"):
        query = query.where(Programme.key == programme)
    if _bool(params, "in_period"):
        query = query.where(Award.since >= scope.period.start)
    return int(await scope.session.scalar(query) or 0)


def _identifier_figure(column: str) -> Callable[[Scope, Mapping[str, str]], Awaitable[CellValue]]:
    async def read(scope: Scope, params: Mapping[str, str]) -> CellValue:
        attribute = getattr(StatsDaily, column)
        query = sa.select(sa.func.coalesce(sa.func.sum(attribute), 0)).where(
            StatsDaily.day.between(scope.period.start, scope.period.end)
        )
        if prefix := params.get("prefix"):
            query = query.where(StatsDaily.prefix == prefix)
        return int(await scope.session.scalar(query) or 0)

    return read


async def _devices(scope: Scope, params: Mapping[str, str]) -> CellValue:
    query = (
        sa.select(sa.func.count())
        .select_from(Device)
        .where(Device.created_at < _end_of(scope.period.end))
    )
    if kind := params.get("kind"):
        query = query.where(Device.kind == kind)
    return int(await scope.session.scalar(query) or 0)


def _submissions(scope: Scope, params: Mapping[str, str]) -> Any:
    p = scope.period
    start = datetime.combine(p.start, time(), UTC)
    query = (
        sa.select(Submission)
        .join(Survey, Survey.id == Submission.survey_id)
        .where(
            Survey.form_id == params.get("survey", ""),
            Submission.test.is_(False),
            Submission.created_at >= start,
            Submission.created_at < _end_of(p.end),
        )
    )
    if state := params.get("state"):
        query = query.where(Submission.review_state == state)
    return query


async def _responses(scope: Scope, params: Mapping[str, str]) -> CellValue:
    query = _submissions(scope, params).with_only_columns(sa.func.count())
    return int(await scope.session.scalar(query) or 0)


async def _survey_sum(scope: Scope, params: Mapping[str, str]) -> CellValue:
    total = 0.0
    for row in await scope.session.scalars(_submissions(scope, params)):
        value = find_answer(row.data, params.get("field", ""))
        try:
            total += float(value) if value not in (None, "") else 0.0
        except (TypeError, ValueError):
            continue  # a text answer in a number field: not counted
    return total


# -- the period itself -----------------------------------------------------------------------


def _period_figure(what: str) -> Callable[[Scope, Mapping[str, str]], Awaitable[CellValue]]:
    async def read(scope: Scope, _params: Mapping[str, str]) -> CellValue:
        p = scope.period
        return {
            "start": p.start.isoformat(),
            "end": p.end.isoformat(),
            "key": p.key,
            "due": p.due.isoformat(),
        }[what]

    return read


_MONITOR = {
    "group": _GROUP_DOC,
    "key": N_("the group's key (township code, industry code, chain key, list id)"),
    "day": _DAY_DOC,
}
_FIGURES = [
    Figure(
        "monitor.resumption_rate",
        N_("Share of counted enterprises resumed (resumption rate), 0-1."),
        _MONITOR,
        _index_figure("resumption_rate"),
    ),
    Figure(
        "monitor.production_rate",
        N_("Power used against the baseline (production rate), 0-1."),
        _MONITOR,
        _index_figure("production_rate"),
    ),
    Figure(
        "monitor.enterprises",
        N_("Enterprises counted by the index (with baseline and reading)."),
        _MONITOR,
        _index_figure("enterprises"),
    ),
    Figure(
        "monitor.resumed",
        N_("Enterprises resumed (power above the threshold)."),
        _MONITOR,
        _index_figure("resumed"),
    ),
    Figure(
        "monitor.table",
        N_("One row per group: name, counted, resumed, resumption rate, production rate."),
        {"group": N_("township (default), industry, chain, segment or list"), "day": _DAY_DOC},
        _monitor_table,
        table=True,
    ),
    Figure(
        "enterprises.count",
        N_("Registered enterprises at the period's end."),
        {
            "township": N_("township code"),
            "industry": N_("industry code or its first digits"),
            "above_size": N_("yes: enterprises above designated size only; no: the others"),
            "key_enterprise": N_("yes or no"),
        },
        _enterprises,
    ),
    Figure(
        "programmes.awards",
        N_("Programme titles held at the period's end."),
        {"programme": N_("programme key"), "in_period": N_("yes: awarded within the period")},
        _awards,
    ),
    Figure(
        "identifiers.registrations",
        N_("Identifiers registered within the period."),
        {"prefix": N_("one enterprise prefix")},
        _identifier_figure("registrations"),
    ),
    Figure(
        "identifiers.resolutions",
        N_("Identifier resolutions within the period."),
        {"prefix": N_("one enterprise prefix")},
        _identifier_figure("resolutions"),
    ),
    Figure(
        "devices.count",
        N_("Devices registered at the period's end."),
        {"kind": N_("device or gateway")},
        _devices,
    ),
    Figure(
        "surveys.responses",
        N_("Responses to a survey received within the period."),
        {"survey": N_("the survey's form id"), "state": N_("a review state")},
        _responses,
        required=("survey",),
    ),
    Figure(
        "surveys.sum",
        N_("Total of a numeric answer over a survey's responses in the period."),
        {
            "survey": N_("the survey's form id"),
            "field": N_("the question's name"),
            "state": N_("a review state (e.g. approved)"),
        },
        _survey_sum,
        required=("survey", "field"),
    ),
    Figure(
        "datatasks.sum",
        N_("Total of a numeric answer of a data task over the enterprises' answers."),
        {**DATA_PARAMS, "field": N_("the question's name (output_value, revenue, ...)")},
        data_sum,
        required=("task", "field"),
    ),
    Figure(
        "datatasks.answered",
        N_("Enterprises that answered a data task for the period."),
        DATA_PARAMS,
        data_count,
        required=("task",),
    ),
    Figure(
        "datatasks.asked",
        N_("Enterprises a data task asked for the period."),
        DATA_PARAMS,
        data_asked,
        required=("task",),
    ),
    Figure(
        "datatasks.response_rate",
        N_("Share of the enterprises asked by a data task that answered, 0-1."),
        DATA_PARAMS,
        data_rate,
        required=("task",),
    ),
    Figure("period.start", N_("The period's first day."), {}, _period_figure("start")),
    Figure("period.end", N_("The period's last day."), {}, _period_figure("end")),
    Figure(
        "period.key",
        N_("The period's key (2026-W18, 2026-04, 2026-Q2)."),
        {},
        _period_figure("key"),
    ),
    Figure("period.due", N_("The period's deadline."), {}, _period_figure("due")),
]
CATALOGUE: Mapping[str, Figure] = {f.name: f for f in _FIGURES}


def check_params(name: str, params: Mapping[str, str], *, cell: bool) -> Figure:
    """The figure of a binding, refusing an unknown figure, parameter or shape."""
    figure = CATALOGUE.get(name)
    if figure is None:
        raise InvalidInput(
            N_("no figure {name}; see GET /api/reporting/figures"),
            code="bad_figure",
            name=name[:80],
        )
    unknown = sorted(set(params) - set(figure.params))
    if unknown:
        raise InvalidInput(
            N_("{name} takes no parameter {param}"),
            code="bad_param",
            name=name,
            param=unknown[0][:40],
        )
    missing = [p for p in figure.required if not params.get(p)]
    if missing:
        raise InvalidInput(
            N_("{name} needs the parameter {param}"), code="bad_param", name=name, param=missing[0]
        )
    if figure.table and cell:
        raise InvalidInput(
            N_("{name} is a table: bind it to a range"), code="bad_anchor", name=name
        )
    if not figure.table and not cell:
        raise InvalidInput(
            N_("{name} is one value: bind it to a cell"), code="bad_anchor", name=name
        )
    return figure
