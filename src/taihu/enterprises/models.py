"""Tables of the enterprises context (the industry map extends the registry)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from taihu.core import Base, UTCDateTime

__all__ = ["Enterprise"]


class Enterprise(Base):
    """An enterprise of the district, identified by its unified social credit code."""

    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    credit_code: Mapped[str] = mapped_column(sa.String(18), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    name_en: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    township_code: Mapped[str | None] = mapped_column(sa.String(9), index=True, default=None)
    industry_code: Mapped[str | None] = mapped_column(sa.String(4), index=True, default=None)
    above_size: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    key_enterprise: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    chain_leader: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    employees: Mapped[int | None] = mapped_column(default=None)
    revenue_band: Mapped[str | None] = mapped_column(sa.String(16), default=None)
    address: Mapped[str | None] = mapped_column(sa.String(300), default=None)
    latitude: Mapped[float | None] = mapped_column(sa.Float(), default=None)
    longitude: Mapped[float | None] = mapped_column(sa.Float(), default=None)
    synthetic: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
