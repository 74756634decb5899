"""API shapes of the monitor (rates are fractions 0..1; production may exceed 1)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from taihu.core import Id, Page
from taihu.monitor.casework import UnblockItem
from taihu.monitor.indices import IndexValues
from taihu.monitor.models import Case, CaseEvent
from taihu.monitor.quality import Flag
from taihu.monitor.service import DayReport, EnterpriseView

__all__ = [
    "CaseActionIn",
    "CaseDetailOut",
    "CaseEventOut",
    "CaseIn",
    "CaseOut",
    "CasePage",
    "DayIndexOut",
    "EnterpriseMonitorOut",
    "FlagOut",
    "KeyListIn",
    "KeyListOut",
    "MembersIn",
    "OpeningOut",
    "OverrideIn",
    "OverrideOut",
    "SeriesDayOut",
    "SeriesOut",
    "StatusIn",
    "UnblockIn",
    "UnblockItemOut",
    "UnblockOut",
]

Day = date  # fields named `date` would shadow the type in the classes below
_CODE = "91320509MA0D00308A"
_VALUES: dict[str, Any] = {
    "enterprises": 2, "resumed": 1, "energy_kwh": 89.9, "baseline_kwh": 300.0,
    "resumption_rate": 0.5, "production_rate": 0.2997, "composite_index": 0.3998, "band": "red",
    "no_reading": 1,
}  # fmt: skip


def _examples(*examples: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples)})


class ValuesOut(BaseModel):
    """Indices of the district or one group on one day."""

    model_config = _examples(_VALUES)

    enterprises: int = Field(description="Counted: with a baseline and a reading that day.")
    resumed: int
    energy_kwh: float
    baseline_kwh: float
    resumption_rate: float | None = Field(description="复工率, resumed / counted.")
    production_rate: float | None = Field(description="复产率, Σ E / Σ B.")
    composite_index: float | None = Field(description="Mean of the two rates.")
    band: str | None = Field(description="green, yellow, orange or red (of the composite).")
    no_reading: int = Field(
        default=0, description="With a baseline but no reading that day: not counted."
    )

    @classmethod
    def values(cls, v: IndexValues) -> dict[str, Any]:
        """The fields of an ``IndexValues``."""
        return {
            "enterprises": v.enterprises, "resumed": v.resumed, "energy_kwh": v.energy,
            "baseline_kwh": v.baseline, "resumption_rate": v.resumption_rate,
            "production_rate": v.production_rate, "composite_index": v.composite_index,
            "band": v.band, "no_reading": v.no_reading,
        }  # fmt: skip


class GroupOut(ValuesOut):
    """One group's indices, with its name."""

    model_config = _examples({"name": "七都镇", **_VALUES})

    name: str


class NoBaselineOut(BaseModel):
    """An enterprise without a baseline (no non-zero reading in the window)."""

    id: int
    credit_code: str
    name: str


class DayIndexOut(ValuesOut):
    """A day's indices for the district, and per group when a grouping was asked for."""

    model_config = _examples({
        "date": "2026-02-10", "theta": 0.3, "baseline_start": "2025-12-01",
        "baseline_end": "2025-12-31", "baseline_rule": "december", **_VALUES,
        "no_baseline": [{"id": 3, "credit_code": _CODE, "name": "七都示范光棒科技有限公司"}],
        "group": "township", "groups": {"320509102": {"name": "七都镇", **_VALUES}},
    })  # fmt: skip

    date: Day
    theta: float
    baseline_start: Day
    baseline_end: Day
    baseline_rule: str = Field(
        description="What chose the window: request, setting, december, first_month or none "
        "(docs/monitor.md); enterprises with an override use their own."
    )
    no_baseline: list[NoBaselineOut] = Field(
        description="Not counted: no baseline from the source of the day's reading."
    )
    group: str | None
    groups: dict[str, GroupOut] = Field(description="Keyed by group id.")

    @classmethod
    def of(cls, report: DayReport, group: str | None = None) -> DayIndexOut:
        """The report as the API shows it."""
        groups = report.groups.get(group or "", {})
        return cls(
            date=report.day, theta=report.theta, baseline_start=report.window[0],
            baseline_end=report.window[1], baseline_rule=report.rule,
            **ValuesOut.values(report.district),
            no_baseline=[NoBaselineOut(id=i, credit_code=c, name=n)
                         for i, c, n in report.no_baseline],
            group=group,
            groups={k: GroupOut(name=name, **ValuesOut.values(v))
                    for k, (name, v) in groups.items()},
        )  # fmt: skip


class SeriesDayOut(ValuesOut):
    """The district on one day of a series."""

    model_config = _examples({"date": "2026-02-10", **_VALUES})

    date: Day


class SeriesOut(BaseModel):
    """The district's daily series over one baseline."""

    model_config = _examples({
        "theta": 0.3, "baseline_start": "2025-12-01", "baseline_end": "2025-12-31",
        "days": [{"date": "2026-02-10", **_VALUES}],
    })  # fmt: skip

    theta: float
    baseline_start: Day
    baseline_end: Day
    days: list[SeriesDayOut]


_FLAG: dict[str, Any] = {
    "enterprise_id": 7, "enterprise_name": "七都示范光棒科技有限公司", "date": "2026-02-10",
    "kind": "spike", "detail": "80 kWh against a neighbours' median of 5 kWh",
    "message_id": "{kwh} kWh against a neighbours' median of {median} kWh",
    "params": {"kwh": 80, "median": 5},
}  # fmt: skip


class FlagOut(BaseModel):
    """A reading the data-quality guard points at (missing, spike or mismatch)."""

    model_config = _examples(_FLAG)

    enterprise_id: int
    enterprise_name: str
    date: Day
    kind: str
    detail: str = Field(description="In English; `message_id` and `params` to translate it.")
    message_id: str
    params: dict[str, Any]

    @classmethod
    def of(cls, flag: Flag, name: str) -> FlagOut:
        """The flag as the API shows it."""
        return cls(enterprise_id=flag.enterprise_id, enterprise_name=name, date=flag.day,
                   kind=flag.kind, detail=flag.detail.render(), message_id=flag.detail.id,
                   params=dict(flag.detail.params))  # fmt: skip


class PowerDayOut(BaseModel):
    """One day of an enterprise's power curve."""

    date: Day
    kwh: float | None
    source: str | None = Field(default=None, description="grid, meter, or null: no reading.")
    baseline_kwh: float | None = Field(
        default=None,
        description="The baseline of that day's source (the grid file's or the "
        "meters'); a day is only ever compared with its own source's baseline.",
    )


class EnterpriseMonitorOut(BaseModel):
    """An enterprise's power curve against its baseline and threshold, with flags."""

    model_config = _examples({
        "enterprise_id": 7, "name": "七都示范光棒科技有限公司", "credit_code": _CODE,
        "baseline_kwh": 100.0, "threshold_kwh": 30.0, "resumed": True, "band": "orange",
        "days": [{"date": "2026-02-10", "kwh": 45.0}], "flags": [_FLAG],
        "reported": {"2026-02-10": True},
    })  # fmt: skip

    enterprise_id: int
    name: str
    credit_code: str
    baseline_kwh: float | None = Field(description="On the last day.")
    threshold_kwh: float | None
    baseline_start: Day | None = None
    baseline_end: Day | None = None
    resumed: bool | None = Field(description="On the last day; null without baseline or reading.")
    band: str | None
    days: list[PowerDayOut]
    flags: list[FlagOut]
    reported: dict[Day, bool] = Field(description="The enterprise's own status reports.")

    @classmethod
    def of(cls, view: EnterpriseView) -> EnterpriseMonitorOut:
        """The view as the API shows it."""
        return cls(
            enterprise_id=view.enterprise_id, name=view.name, credit_code=view.credit_code,
            baseline_kwh=view.baseline, threshold_kwh=view.threshold,
            baseline_start=view.window[0] if view.window else None,
            baseline_end=view.window[1] if view.window else None, resumed=view.resumed,
            band=view.band,
            days=[PowerDayOut(date=d, kwh=k, source=s, baseline_kwh=b) for (d, k), s, b
                  in zip(view.days, view.sources, view.baselines, strict=True)],
            flags=[FlagOut.of(f, view.name) for f in view.flags], reported=view.reported,
        )  # fmt: skip


class StatusIn(BaseModel):
    """An enterprise's own word on whether it has resumed."""

    model_config = _examples({"date": "2026-02-10", "resumed": True, "note": "两条产线复工"})

    date: Day
    resumed: bool
    note: str = Field(default="", max_length=300)


class KeyListIn(BaseModel):
    """A new key-enterprise list."""

    model_config = _examples({"name": "重点企业", "description": "区级重点监测企业"})

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=300)


class KeyListOut(BaseModel):
    """A key-enterprise list with its member count."""

    model_config = _examples({"id": 1, "name": "重点企业", "description": "", "members": 12})

    id: int
    name: str
    description: str
    members: int


class MembersIn(BaseModel):
    """Enterprises to add to (or remove from) a list, by credit code."""

    model_config = _examples({"credit_codes": [_CODE]})

    credit_codes: list[str] = Field(min_length=1, max_length=5000)


_CASE: dict[str, Any] = {
    "id": 5, "enterprise_id": 7, "category": "supplier", "title": "光棒原料断供",
    "description": "四氯化硅供应商未复工", "state": "assigned", "officer": "wang.li",
    "deadline": "2026-02-14", "overdue": False, "reported_by": "bureau", "report_back": None,
    "origin_enterprise_id": None, "created_at": "2026-02-10T02:00:00Z",
    "updated_at": "2026-02-10T03:00:00Z", "closed_at": None,
}  # fmt: skip


class CaseIn(BaseModel):
    """A blocker to record for an enterprise."""

    model_config = _examples(
        {"enterprise_id": 7, "category": "logistics", "title": "物流车辆无法进园区",
         "description": "需要通行证"}
    )  # fmt: skip

    enterprise_id: Id
    category: str = Field(description="supplier, logistics, labour, funds or other.")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)


class CaseActionIn(BaseModel):
    """A step on a case: assign (officer, deadline), start, comment, close (report-back), reopen."""

    model_config = _examples(
        {"action": "assign", "officer": "wang.li", "deadline": "2026-02-14", "comment": ""},
        {"action": "close", "comment": "已协调通行证, 车辆已进园"},
    )

    action: str
    comment: str = Field(default="", max_length=2000)
    officer: str | None = Field(default=None, max_length=128)
    deadline: Day | None = None


class CaseOut(BaseModel):
    """A blocker case; ``overdue`` when open past its deadline."""

    model_config = _examples(_CASE)

    id: int
    enterprise_id: int
    category: str
    title: str
    description: str
    state: str
    officer: str | None
    deadline: Day | None
    overdue: bool
    reported_by: str
    report_back: str | None
    origin_enterprise_id: int | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, case: Case, overdue: bool) -> CaseOut:
        """The case as the API shows it."""
        fields = {name: getattr(case, name) for name in cls.model_fields if name != "overdue"}
        return cls(overdue=overdue, **fields)


class CaseEventOut(BaseModel):
    """One step of a case's history."""

    at: datetime
    actor: str
    action: str
    state: str
    comment: str

    @classmethod
    def of(cls, event: CaseEvent) -> CaseEventOut:
        """The event as the API shows it."""
        return cls(at=event.at, actor=event.actor, action=event.action, state=event.state,
                   comment=event.comment)  # fmt: skip


class CaseDetailOut(CaseOut):
    """A case with its history."""

    model_config = _examples({**_CASE, "events": [
        {"at": "2026-02-10T02:00:00Z", "actor": "bureau", "action": "record", "state": "open",
         "comment": "四氯化硅供应商未复工"}]})  # fmt: skip

    events: list[CaseEventOut]


class CasePage(Page[CaseOut]):
    """A page of cases."""

    model_config = _examples({"items": [_CASE], "total": 1, "page": 1, "page_size": 50})


class UnblockIn(BaseModel):
    """Open cases for a key enterprise's unblock list (officer and deadline assign them)."""

    model_config = _examples({"date": "2026-02-10", "officer": "wang.li",
                              "deadline": "2026-02-14"})  # fmt: skip

    date: Day
    officer: str | None = Field(default=None, max_length=128)
    deadline: Day | None = None


class UnblockItemOut(BaseModel):
    """A non-resumed critical supplier and what its recovery restores."""

    enterprise_id: int
    credit_code: str
    name: str
    depth: int
    restores: int
    value: float
    case_id: int | None

    @classmethod
    def of(cls, item: UnblockItem) -> UnblockItemOut:
        """The item as the API shows it."""
        return cls(enterprise_id=item.enterprise_id, credit_code=item.credit_code,
                   name=item.name, depth=item.depth, restores=item.restores, value=item.value,
                   case_id=item.case_id)  # fmt: skip


class UnblockOut(BaseModel):
    """A key enterprise's unblock list, best first, and how many cases were opened."""

    model_config = _examples({
        "enterprise_id": 9, "name": "亨通示范光缆有限公司", "date": "2026-02-10", "opened": 1,
        "items": [{"enterprise_id": 7, "credit_code": _CODE, "name": "七都示范光棒科技有限公司",
                   "depth": 2, "restores": 4, "value": 1200.0, "case_id": 5}],
    })  # fmt: skip

    enterprise_id: int
    name: str
    date: Day
    opened: int
    items: list[UnblockItemOut]


class OpeningOut(BaseModel):
    """The day the dashboard opens on, and why (rule in docs/monitor.md)."""

    model_config = _examples({
        "date": "2026-04-29", "counted": 583, "with_baseline": 600, "enough": True,
        "latest": "2026-12-06", "latest_readings": 30, "latest_counted": 0,
        "message": "Showing 2026-04-29: ...",
    })  # fmt: skip

    date: Day
    counted: int = Field(description="Enterprises counted that day.")
    with_baseline: int = Field(description="Enterprises with a baseline for that day's window.")
    enough: bool = Field(description="False: no day had enough; the latest day with readings.")
    latest: Day | None = Field(description="A later day with readings that was passed over.")
    latest_readings: int
    latest_counted: int
    message: str


class OverrideIn(BaseModel):
    """An enterprise's own baseline window."""

    model_config = _examples({"start": "2025-11-01", "end": "2025-11-30",
                              "reason": "十二月停产检修"})  # fmt: skip

    start: Day
    end: Day
    reason: str = Field(default="", max_length=300)


class OverrideOut(OverrideIn):
    """An enterprise's own baseline window, who set it and when."""

    enterprise_id: int
    credit_code: str
    name: str
    set_by: str
    set_at: datetime
