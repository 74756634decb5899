"""Tables of the operation monitor: daily power, reported status, key lists, blocker cases."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from taihu.core import Base, UTCDateTime

__all__ = [
    "BaselineOverride",
    "Case",
    "CaseEvent",
    "KeyList",
    "KeyListMember",
    "PowerColumn",
    "PowerDay",
    "PowerDirtyDay",
    "StatusReport",
]


def _enterprise_fk() -> sa.ForeignKey:
    return sa.ForeignKey("enterprises.id", ondelete="CASCADE")


class PowerDay(Base):
    """One enterprise's electricity use on one day (kWh), from a grid file or its meters."""

    __tablename__ = "monitor_power_days"
    __table_args__ = (sa.UniqueConstraint("enterprise_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(_enterprise_fk(), index=True)
    day: Mapped[date] = mapped_column(sa.Date(), index=True)
    kwh: Mapped[float] = mapped_column(sa.Float())
    source: Mapped[str] = mapped_column(sa.String(8))  # "grid" or "meter"
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PowerColumn(Base):
    """Every enterprise's use on one day in two packed arrays: the read side of the power days.

    Rebuilt from ``monitor_power_days`` in the transaction that writes them, so reading a year
    for the whole district is 365 rows rather than 3.65 million (see ``taihu.monitor.columns``).
    """

    __tablename__ = "monitor_power_columns"

    day: Mapped[date] = mapped_column(sa.Date(), primary_key=True)
    ids: Mapped[bytes] = mapped_column(sa.LargeBinary())  # enterprise ids, int64 LE, ascending
    kwh: Mapped[bytes] = mapped_column(sa.LargeBinary())  # their kWh, float64 LE, same order
    meter: Mapped[bytes] = mapped_column(sa.LargeBinary())  # 1 where from meters, uint8, same order


class PowerDirtyDay(Base):
    """A day whose power changed after its column was built; database triggers record it."""

    __tablename__ = "monitor_power_dirty_days"

    day: Mapped[date] = mapped_column(sa.Date(), primary_key=True)


class BaselineOverride(Base):
    """An enterprise's own baseline window, for a firm whose usual window was abnormal."""

    __tablename__ = "monitor_baseline_overrides"

    enterprise_id: Mapped[int] = mapped_column(_enterprise_fk(), primary_key=True)
    start: Mapped[date] = mapped_column(sa.Date())
    end: Mapped[date] = mapped_column(sa.Date())
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    set_by: Mapped[str] = mapped_column(sa.String(128))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StatusReport(Base):
    """What an enterprise says about itself on a day: resumed or not."""

    __tablename__ = "monitor_status_reports"
    __table_args__ = (sa.UniqueConstraint("enterprise_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(_enterprise_fk(), index=True)
    day: Mapped[date] = mapped_column(sa.Date())
    resumed: Mapped[bool] = mapped_column()
    note: Mapped[str] = mapped_column(sa.String(300), default="")
    reported_by: Mapped[str] = mapped_column(sa.String(128))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())


class KeyList(Base):
    """A named list of key enterprises (重点企业, epidemic-supplies producers, …)."""

    __tablename__ = "monitor_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    description: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class KeyListMember(Base):
    """An enterprise on a key list."""

    __tablename__ = "monitor_list_members"
    __table_args__ = (sa.UniqueConstraint("list_id", "enterprise_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(
        sa.ForeignKey("monitor_lists.id", ondelete="CASCADE"), index=True
    )
    enterprise_id: Mapped[int] = mapped_column(_enterprise_fk(), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Case(Base):
    """A blocker case: an enterprise's problem, worked from record to report-back."""

    __tablename__ = "monitor_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(_enterprise_fk(), index=True)
    category: Mapped[str] = mapped_column(sa.String(16))
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.String(2000), default="")
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    officer: Mapped[str | None] = mapped_column(sa.String(128), default=None)
    deadline: Mapped[date | None] = mapped_column(sa.Date(), default=None)
    reported_by: Mapped[str] = mapped_column(sa.String(128))
    report_back: Mapped[str | None] = mapped_column(sa.String(2000), default=None)
    # Set on cases opened from a key enterprise's unblock list: the enterprise they unblock.
    origin_enterprise_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enterprises.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class CaseEvent(Base):
    """One step in a case's history: recorded, assigned, started, commented, closed, reopened."""

    __tablename__ = "monitor_case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        sa.ForeignKey("monitor_cases.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(sa.String(128))
    action: Mapped[str] = mapped_column(sa.String(16))
    state: Mapped[str] = mapped_column(sa.String(16))
    comment: Mapped[str] = mapped_column(sa.String(2000), default="")
