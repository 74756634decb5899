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
