"""Tables of the solution pool: tags, providers, solutions, cases, documents, needs, guides."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from taihu.core import Base, JSONType, UTCDateTime

__all__ = [
    "Guide",
    "Need",
    "NeedEvent",
    "Provider",
    "Solution",
    "SolutionCase",
    "SolutionDocument",
    "SolutionTag",
    "SubjectDocument",
]


class SolutionTag(Base):
    """A scenario of the maintained vocabulary (设备上云, 能耗管理 …), named in both languages."""

    __tablename__ = "solution_tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(64))
    name_en: Mapped[str] = mapped_column(sa.String(64))
    builtin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Provider(Base):
    """A platform company, service organisation or research institute offering solutions."""

    __tablename__ = "solution_providers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    name_en: Mapped[str] = mapped_column(sa.String(200), default="")
    kind: Mapped[str] = mapped_column(sa.String(16))  # platform / service / research
    credit_code: Mapped[str | None] = mapped_column(sa.String(18), default=None)
    # The registry's enterprise of that credit code: its users edit the provider's solutions.
    enterprise_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enterprises.id", ondelete="SET NULL"), index=True, default=None
    )
    description: Mapped[str] = mapped_column(sa.String(2000), default="")
    website: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Solution(Base):
    """A provider's solution: scenarios, industry classes, chain segments, price range."""

    __tablename__ = "solutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(
        sa.ForeignKey("solution_providers.id", ondelete="CASCADE"), index=True
    )
    title_zh: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200))
    summary: Mapped[str] = mapped_column(sa.String(4000), default="")
    tags: Mapped[list[str]] = mapped_column(JSONType)  # tag keys
    industry_codes: Mapped[list[str]] = mapped_column(JSONType)  # GB/T 4754 codes or prefixes
    segments: Mapped[list[str]] = mapped_column(JSONType)  # chain segment keys
    price_min: Mapped[int | None] = mapped_column(default=None)  # 10k yuan
    price_max: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SolutionCase(Base):
    """A reference case: at which enterprise, what changed, what was measured."""

    __tablename__ = "solution_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    solution_id: Mapped[int] = mapped_column(
        sa.ForeignKey("solutions.id", ondelete="CASCADE"), index=True
    )
    enterprise_name: Mapped[str] = mapped_column(sa.String(200))
    enterprise_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enterprises.id", ondelete="SET NULL"), default=None
    )
    change: Mapped[str] = mapped_column(sa.String(2000))
    results: Mapped[str] = mapped_column(sa.String(2000))
    year: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SolutionDocument(Base):
    """A file of a solution (brochure, case report, certificate); bytes in the row."""

    __tablename__ = "solution_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    solution_id: Mapped[int] = mapped_column(
        sa.ForeignKey("solutions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(32))
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column(sa.Integer())
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary())
    uploaded_by: Mapped[str] = mapped_column(sa.String(128))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SubjectDocument(Base):
    """A file of a provider or of a reference case (one of the two); bytes in the row."""

    __tablename__ = "solution_subject_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("solution_providers.id", ondelete="CASCADE"), index=True, default=None
    )
    case_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("solution_cases.id", ondelete="CASCADE"), index=True, default=None
    )
    kind: Mapped[str] = mapped_column(sa.String(32))
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column(sa.Integer())
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary())
    uploaded_by: Mapped[str] = mapped_column(sa.String(128))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Need(Base):
    """An enterprise's need (供需对接), matched by the bureau and tracked to its outcome."""

    __tablename__ = "solution_needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.String(4000), default="")
    tags: Mapped[list[str]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(sa.String(16), index=True)
    provider_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("solution_providers.id", ondelete="SET NULL"), default=None
    )
    solution_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("solutions.id", ondelete="SET NULL"), default=None
    )
    outcome: Mapped[str] = mapped_column(sa.String(16), default="")  # resolved / unresolved
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NeedEvent(Base):
    """One step in a need's history: who did what, when, with which comment."""

    __tablename__ = "solution_need_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(
        sa.ForeignKey("solution_needs.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))  # the status the step left
    actor: Mapped[str] = mapped_column(sa.String(128))
    comment: Mapped[str] = mapped_column(sa.String(1000), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class Guide(Base):
    """An industry application guide (行业应用指南) linking solutions and their cases."""

    __tablename__ = "solution_guides"

    id: Mapped[int] = mapped_column(primary_key=True)
    industry_code: Mapped[str] = mapped_column(sa.String(4), index=True)
    title_zh: Mapped[str] = mapped_column(sa.String(200))
    title_en: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.String(8000), default="")
    solution_ids: Mapped[list[int]] = mapped_column(JSONType)
    published: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
