"""Tables of the chains context: chain templates and versions, tags, edges, outside suppliers.

A chain template is a key and a current version; each version is a full, immutable copy of the
template (names in both languages, segments as JSON), so a change keeps history and an analysis
can say which version it used. The six built-ins (``data/chains.json``) are version 1 of the
starting set. Tags and edges refer to a segment by its key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from taihu.core import Base, UTCDateTime

__all__ = [
    "ChainTemplate",
    "ChainTemplateVersion",
    "OutsideSupplier",
    "SegmentTag",
    "SupplyEdge",
    "TagStatus",
]


class TagStatus:
    """The life of a tag: suggested by the rules, then confirmed or rejected by an analyst."""

    SUGGESTED = "suggested"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    ALL = (SUGGESTED, CONFIRMED, REJECTED)


class ChainTemplate(Base):
    """A chain template: its key and which version is current."""

    __tablename__ = "chain_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    current_version: Mapped[int] = mapped_column(sa.Integer())
    builtin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChainTemplateVersion(Base):
    """One version of a chain template, never changed once written."""

    __tablename__ = "chain_template_versions"
    __table_args__ = (sa.UniqueConstraint("template_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        sa.ForeignKey("chain_templates.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(sa.Integer())
    name_zh: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(100))
    # The segments in order, each {key, name_zh, name_en, stage, critical, supplies, codes,
    # keywords}: a version is read whole, never queried by segment.
    segments: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON())
    note: Mapped[str] = mapped_column(sa.String(300), default="")
    created_by: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SegmentTag(Base):
    """An enterprise placed in a chain segment."""

    __tablename__ = "chain_tags"
    __table_args__ = (sa.UniqueConstraint("enterprise_id", "segment_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    segment_key: Mapped[str] = mapped_column(sa.String(64), index=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    score: Mapped[float] = mapped_column(sa.Float())
    reason: Mapped[str] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(sa.String(128), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class SupplyEdge(Base):
    """Supplier → buyer of one input category with its annual value (10k yuan)."""

    __tablename__ = "supply_edges"
    __table_args__ = (sa.UniqueConstraint("supplier_key", "buyer_id", "input_category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # A registered supplier has its id and its credit code as key; one outside the registry
    # (a supplier beyond the district) has no id and the key ``ext:<name>``.
    supplier_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enterprises.id", ondelete="CASCADE"), index=True, default=None
    )
    supplier_key: Mapped[str] = mapped_column(sa.String(220))
    supplier_name: Mapped[str] = mapped_column(sa.String(200))
    buyer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enterprises.id", ondelete="CASCADE"), index=True
    )
    input_category: Mapped[str] = mapped_column(sa.String(64), index=True)
    annual_value: Mapped[float] = mapped_column(sa.Float())
    ring: Mapped[str] = mapped_column(sa.String(16))
    substitutable: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Where the edge last came from when not typed or imported: ``survey:<form>/<instanceID>``.
    source: Mapped[str | None] = mapped_column(sa.String(220), default=None)


class OutsideSupplier(Base):
    """A supplier beyond the district, named by its edges: a node of its own, never local."""

    __tablename__ = "chain_outside_suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(220), unique=True)  # ``ext:<name>``
    name: Mapped[str] = mapped_column(sa.String(200))
    city: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    province: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    country: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
