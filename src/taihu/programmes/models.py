"""Tables of the programmes context: programmes, applications, steps, documents, awards."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from taihu.core import Base, JSONType, UTCDateTime

__all__ = ["Award", "Programme", "ProgrammeApplication", "ProgrammeDocument", "StageStep"]


class Programme(Base):
    """A programme (试点示范, 星级上云 …) as data: who issues it, its stages, grades, validity."""

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    level: Mapped[str] = mapped_column(sa.String(16))  # national/provincial/city/district
    issuing_body: Mapped[str] = mapped_column(sa.String(200))
    year: Mapped[int | None] = mapped_column(default=None)
    batch: Mapped[str] = mapped_column(sa.String(64), default="")
    criteria: Mapped[str] = mapped_column(sa.Text(), default="")
    # Each document a dict: key, name_zh, name_en, required.
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    stages: Mapped[list[str]] = mapped_column(JSONType)  # ["enterprise", "district", "city", …]
    # [{"key": "AAA", "name_zh": "AAA级", "name_en": "AAA"}, …]; a grade may name its own level
    grades: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    validity_years: Mapped[int | None] = mapped_column(default=None)
    subsidy_yuan: Mapped[int | None] = mapped_column(sa.BigInteger(), default=None)
    accepting: Mapped[bool] = mapped_column(default=True)
    # A survey form (taihu.surveys) applicants fill through its web form; None: the built-in form.
    form_id: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    builtin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProgrammeApplication(Base):
    """An enterprise's application to a programme, at one stage of its review."""

    __tablename__ = "programme_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        sa.ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    enterprise_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    stage: Mapped[str] = mapped_column(sa.String(16))  # the stage the application is at
    form: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # The filled survey form of a programme that has one: {form_id, instance_id, version, rows}.
    answers: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StageStep(Base):
    """One decision on an application: stage, decision, reviewer, comment, time."""

    __tablename__ = "programme_stage_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("programme_applications.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(sa.String(16))
    decision: Mapped[str] = mapped_column(sa.String(16))
    actor: Mapped[str] = mapped_column(sa.String(128))
    comment: Mapped[str] = mapped_column(sa.String(1000), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProgrammeDocument(Base):
    """A file of an application (the applicant's, or an upper stage's notice); bytes in the row."""

    __tablename__ = "programme_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        sa.ForeignKey("programme_applications.id", ondelete="CASCADE"), index=True
    )
    step_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("programme_stage_steps.id", ondelete="CASCADE"), default=None
    )
    kind: Mapped[str] = mapped_column(sa.String(32))
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column(sa.Integer())
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary())
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Award(Base):
    """A registry entry: an enterprise holds a programme's title, at a grade, since/until."""

    __tablename__ = "programme_awards"
    __table_args__ = (sa.UniqueConstraint("programme_id", "enterprise_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        sa.ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    enterprise_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    level: Mapped[str] = mapped_column(sa.String(16))
    grade: Mapped[str] = mapped_column(sa.String(32), default="")
    year: Mapped[int] = mapped_column()
    since: Mapped[date] = mapped_column(sa.Date())
    until: Mapped[date | None] = mapped_column(sa.Date(), default=None, index=True)
    source: Mapped[str] = mapped_column(sa.String(16))  # application / historical / import
    application_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("programme_applications.id", ondelete="SET NULL"), default=None
    )
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
