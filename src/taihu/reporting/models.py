"""Tables of reporting: templates, report tasks and their runs, data tasks and their periods."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from taihu.core import Base, JSONType, UTCDateTime

__all__ = ["DataPeriod", "DataTask", "ReportRun", "ReportTask", "ReportTemplate"]


class ReportTemplate(Base):
    """An upper level's xlsx workbook (bytes in the row) and its cells bound to figures."""

    __tablename__ = "report_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    filename: Mapped[str] = mapped_column(sa.String(255))
    size: Mapped[int] = mapped_column(sa.Integer())
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary())
    # Each binding a dict: sheet, ref ("C4" or "B6:F20"), figure, params {name: text}, label.
    bindings: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    created_by: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReportTask(Base):
    """A report owed upwards: who asks, on which cadence and deadline, in which template."""

    __tablename__ = "report_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    issuing_body: Mapped[str] = mapped_column(sa.String(200))
    cadence: Mapped[str] = mapped_column(sa.String(16))  # weekly, monthly, quarterly, once
    due_day: Mapped[int] = mapped_column(sa.Integer(), default=1)
    due_on: Mapped[date | None] = mapped_column(sa.Date(), default=None)
    lead_days: Mapped[int] = mapped_column(sa.Integer(), default=0)
    template_id: Mapped[int] = mapped_column(
        sa.ForeignKey("report_templates.id", ondelete="RESTRICT"), index=True
    )
    owner: Mapped[str] = mapped_column(sa.String(128))
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReportRun(Base):
    """One period of a task: the generated draft, corrections, approval and submission."""

    __tablename__ = "report_runs"
    __table_args__ = (sa.UniqueConstraint("task_id", "period_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(
        sa.ForeignKey("report_tasks.id", ondelete="CASCADE"), index=True
    )
    period_key: Mapped[str] = mapped_column(sa.String(16))
    period_start: Mapped[date] = mapped_column(sa.Date())
    period_end: Mapped[date] = mapped_column(sa.Date())
    due_on: Mapped[date] = mapped_column(sa.Date(), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)  # draft, approved, submitted
    # "Sheet!C4" → value as the figures gave it; and the person's corrections beside it:
    # "Sheet!C4" → {"value", "by", "at", "note"}.
    generated: Mapped[dict[str, Any]] = mapped_column(JSONType)
    corrections: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # Figures that could not be read: messages as ``reporting.problems`` keeps them.
    problems: Mapped[list[Any]] = mapped_column(JSONType)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary())  # the filled workbook
    sha256: Mapped[str] = mapped_column(sa.String(64))
    template_sha256: Mapped[str] = mapped_column(sa.String(64))
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    generated_by: Mapped[str] = mapped_column(sa.String(128))
    approved_by: Mapped[str | None] = mapped_column(sa.String(128), default=None)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    submitted_by: Mapped[str | None] = mapped_column(sa.String(128), default=None)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    note: Mapped[str] = mapped_column(sa.String(1000), default="")


class DataTask(Base):
    """Periodic data the enterprises owe the bureau: a form, an audience and a cadence."""

    __tablename__ = "report_data_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(40), unique=True)  # names it in figures
    title: Mapped[str] = mapped_column(sa.String(200))
    # The XLSForm each period's survey is made from (its form id and title are the period's).
    xlsform: Mapped[bytes] = mapped_column(sa.LargeBinary())
    source: Mapped[str] = mapped_column(sa.String(120))  # "builtin" or the survey it came from
    scope: Mapped[str] = mapped_column(sa.String(16))  # the surveys' scopes
    scope_value: Mapped[str] = mapped_column(sa.String(2000), default="")
    cadence: Mapped[str] = mapped_column(sa.String(16))  # weekly, monthly, quarterly
    due_day: Mapped[int] = mapped_column(sa.Integer(), default=1)
    lead_days: Mapped[int] = mapped_column(sa.Integer(), default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DataPeriod(Base):
    """One period of a data task: the survey opened for it and whom it asked."""

    __tablename__ = "report_data_periods"
    __table_args__ = (sa.UniqueConstraint("task_id", "period_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(
        sa.ForeignKey("report_data_tasks.id", ondelete="CASCADE"), index=True
    )
    period_key: Mapped[str] = mapped_column(sa.String(16))
    period_start: Mapped[date] = mapped_column(sa.Date())
    period_end: Mapped[date] = mapped_column(sa.Date())
    due_on: Mapped[date] = mapped_column(sa.Date())
    survey_id: Mapped[int] = mapped_column(
        sa.ForeignKey("survey_forms.id", ondelete="CASCADE"), unique=True
    )
    asked: Mapped[int] = mapped_column(sa.Integer())
    opened_by: Mapped[str] = mapped_column(sa.String(128))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
