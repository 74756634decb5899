"""Tables of the identifiers context: prefixes, handles, changes, templates, applications, stats.

A handle's values live in one row as the JSON text of their REST form (``record``): resolution
reads one row by primary-key-like lookup and batch registration writes one row per identifier.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from taihu.core import Base, JSONType, UTCDateTime

__all__ = [
    "Filing",
    "HandleChallenge",
    "HandleChange",
    "HandleRow",
    "HandleSession",
    "HandleSessionCounter",
    "NodeLink",
    "Prefix",
    "PrefixApplication",
    "StatsDaily",
    "Template",
]


class Prefix(Base):
    """A prefix this node serves: a node prefix (``88.118``) or an enterprise prefix below it."""

    __tablename__ = "id_prefixes"

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(sa.String(128), unique=True)
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("id_prefixes.id", ondelete="RESTRICT"), default=None
    )
    kind: Mapped[str] = mapped_column(sa.String(16))  # node | enterprise
    enterprise_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("enterprises.id", ondelete="RESTRICT"), default=None, index=True
    )
    status: Mapped[str] = mapped_column(sa.String(16))  # active | suspended | revoked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HandleRow(Base):
    """One identifier and its values."""

    __tablename__ = "id_handles"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(2048), unique=True)
    handle: Mapped[str] = mapped_column(sa.String(2048))
    prefix_id: Mapped[int] = mapped_column(
        sa.ForeignKey("id_prefixes.id", ondelete="RESTRICT"), index=True
    )
    record: Mapped[str] = mapped_column(sa.Text())
    # The anonymous RESOLUTION answer encoded (records.wire_values.wire_answer); NULL: render it.
    wire: Mapped[bytes | None] = mapped_column(sa.LargeBinary(), default=None)
    template: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class HandleChange(Base):
    """A written handle, so every worker process drops it from its resolution cache."""

    __tablename__ = "id_changes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(sa.String(2048))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class HandleChallenge(Base):
    """A Handle challenge awaiting its answer, where any resolver process finds it (RC 402)."""

    __tablename__ = "id_handle_challenges"

    # The session id the challenge named: the Handle.Net client answers under it.
    session_id: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True, autoincrement=False)
    request: Mapped[bytes] = mapped_column(sa.LargeBinary())  # the challenged request, encoded
    signed: Mapped[bytes] = mapped_column(sa.LargeBinary())
    digest_algorithm: Mapped[int] = mapped_column(sa.SmallInteger())
    digest: Mapped[bytes] = mapped_column(sa.LargeBinary())
    nonce: Mapped[bytes] = mapped_column(sa.LargeBinary())
    binds: Mapped[bool] = mapped_column(sa.Boolean())
    expires_at: Mapped[float] = mapped_column(sa.Float(), index=True)  # POSIX seconds


class HandleSession(Base):
    """A Handle session every resolver process can continue; its key sealed (AES-GCM)."""

    __tablename__ = "id_handle_sessions"

    id: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True, autoincrement=False)
    sealed_key: Mapped[bytes] = mapped_column(sa.LargeBinary())
    timeout: Mapped[float] = mapped_column(sa.Float())
    expires_at: Mapped[float] = mapped_column(sa.Float(), index=True)  # POSIX seconds
    identity_handle: Mapped[str] = mapped_column(sa.String(2048))
    identity_index: Mapped[int] = mapped_column(sa.Integer())
    admin_handle: Mapped[str | None] = mapped_column(sa.String(2048), default=None)
    admin_index: Mapped[int | None] = mapped_column(sa.Integer(), default=None)
    counter: Mapped[int] = mapped_column(sa.BigInteger())  # the last server counter handed out


class HandleSessionCounter(Base):
    """A client counter seen in a session: a second request with it is a replay."""

    __tablename__ = "id_handle_session_counters"

    session_id: Mapped[int] = mapped_column(
        sa.BigInteger(),
        sa.ForeignKey("id_handle_sessions.id", ondelete="CASCADE"),
        primary_key=True,
    )
    counter: Mapped[int] = mapped_column(sa.BigInteger(), primary_key=True, autoincrement=False)


class Template(Base):
    """One version of an industry data template (SNMS style, GB/T 4754 classified)."""

    __tablename__ = "id_templates"
    __table_args__ = (sa.UniqueConstraint("prefix", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(sa.String(128))
    version: Mapped[str] = mapped_column(sa.String(128))
    name: Mapped[str] = mapped_column(sa.String(200))
    industry_class: Mapped[str] = mapped_column(sa.String(8))  # GB/T 4754 code, e.g. 3435
    description: Mapped[str] = mapped_column(sa.String(500))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PrefixApplication(Base):
    """An enterprise's application for a prefix, through real-name review."""

    __tablename__ = "id_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(
        sa.ForeignKey("enterprises.id", ondelete="RESTRICT"), index=True
    )
    prefix: Mapped[str] = mapped_column(sa.String(128))
    contact: Mapped[str] = mapped_column(sa.String(200))
    industry_class: Mapped[str] = mapped_column(sa.String(8))
    status: Mapped[str] = mapped_column(sa.String(16))  # pending | approved | rejected
    reason: Mapped[str | None] = mapped_column(sa.String(500), default=None)
    timeline: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StatsDaily(Base):
    """Registrations and resolutions per day and prefix (flushed off the resolution path)."""

    __tablename__ = "id_stats_daily"

    day: Mapped[date] = mapped_column(sa.Date(), primary_key=True)
    prefix: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    registrations: Mapped[int] = mapped_column(sa.BigInteger(), default=0)
    resolutions: Mapped[int] = mapped_column(sa.BigInteger(), default=0)


class NodeLink(Base):
    """The node above this one (set by ``taihu node join``): where prefixes are filed."""

    __tablename__ = "id_node_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(sa.String(255))
    port: Mapped[int] = mapped_column(sa.Integer())
    credential: Mapped[str] = mapped_column(sa.String(2048))  # INDEX:HANDLE, e.g. 300:0.NA/88.118
    advertise: Mapped[str] = mapped_column(sa.String(300))  # this node's HOST:PORT in its HS_SITE
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Filing(Base):
    """The upstream state of one prefix (备案): filed, to be filed or unfiled, and why not yet."""

    __tablename__ = "id_filings"

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(sa.String(128), unique=True)
    action: Mapped[str] = mapped_column(sa.String(8))  # file | unfile
    state: Mapped[str] = mapped_column(sa.String(8), index=True)  # pending | done | failed
    attempts: Mapped[int] = mapped_column(sa.Integer(), default=0)
    error: Mapped[str | None] = mapped_column(sa.String(500), default=None)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
