"""The audit log: every write made through a service leaves one entry here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts.models import AuditEntry
from taihu.accounts.principal import Principal
from taihu.core import current_request_id, utcnow

__all__ = ["SECURITY_PREFIX", "AuditFilter", "daily_activity", "query_audit", "record_audit"]

SECURITY_PREFIX = "security."  # the actions of security events (accounts/security_log.py)


async def record_audit(
    session: AsyncSession,
    actor: Principal,
    action: str,
    entity_type: str,
    entity_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Add an audit entry to the caller's unit of work (committed with the write it records)."""
    entry = AuditEntry(
        at=at or utcnow(),
        actor_user_id=actor.user_id,
        actor=actor.name,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=before,
        after=after,
        request_id=current_request_id(),
    )
    session.add(entry)
    return entry


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which audit entries to list; empty fields match everything."""

    actor: str | None = None
    action: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    request_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    outcome: Literal["done", "refused"] | None = None
    """``refused``: the security events (refused writes, failed sign-ins); ``done``: the rest."""


async def query_audit(
    session: AsyncSession, where: AuditFilter, *, page: int, page_size: int
) -> tuple[list[AuditEntry], int]:
    """One page of matching entries, newest first, and the total count."""
    conditions: list[sa.ColumnElement[bool]] = []
    since, until = _aware(where.since), _aware(where.until)
    if where.actor:
        conditions.append(AuditEntry.actor == where.actor)
    if where.action:
        # "user." lists every user action; a full name matches exactly.
        if where.action.endswith("."):
            conditions.append(AuditEntry.action.startswith(where.action, autoescape=True))
        else:
            conditions.append(AuditEntry.action == where.action)
    if where.entity_type:
        conditions.append(AuditEntry.entity_type == where.entity_type)
    if where.entity_id:
        conditions.append(AuditEntry.entity_id == where.entity_id)
    if where.request_id:
        conditions.append(AuditEntry.request_id == where.request_id)
    if where.outcome == "refused":
        conditions.append(AuditEntry.action.startswith(SECURITY_PREFIX))
    elif where.outcome == "done":
        conditions.append(~AuditEntry.action.startswith(SECURITY_PREFIX))
    if since:
        conditions.append(AuditEntry.at >= since)
    if until:
        conditions.append(AuditEntry.at < until)
    total = await session.scalar(
        sa.select(sa.func.count()).select_from(AuditEntry).where(*conditions)
    )
    rows = await session.scalars(
        sa.select(AuditEntry)
        .where(*conditions)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return list(rows), int(total or 0)


def _aware(moment: datetime | None) -> datetime | None:
    # A filter given without a zone means UTC, the zone every stored time is in.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


async def daily_activity(
    session: AsyncSession, zone: tzinfo, *, days: int, now: datetime | None = None
) -> list[tuple[date, int]]:
    """Audit entries per local day for the last ``days`` days (oldest first, gaps as zero)."""
    now = now or utcnow()
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time(), zone).astimezone(UTC)
    # Count per UTC hour in SQL (at most 24 rows a day), then fold hours into local days here:
    # that keeps the query portable between SQLite and PostgreSQL and exact for any zone.
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        hour: sa.ColumnElement[Any] = sa.func.strftime("%Y-%m-%d %H:00:00", AuditEntry.at)
    else:
        hour = sa.func.date_trunc("hour", sa.func.timezone("UTC", AuditEntry.at))
    rows = await session.execute(
        sa.select(hour.label("hour"), sa.func.count())
        .where(AuditEntry.at >= since)
        .group_by("hour")
    )
    counts = {first + timedelta(days=i): 0 for i in range(days)}
    for bucket, count in rows:
        start = bucket if isinstance(bucket, datetime) else datetime.fromisoformat(bucket)
        local_day = start.replace(tzinfo=UTC).astimezone(zone).date()
        if local_day in counts:
            counts[local_day] += int(count)
    return sorted(counts.items())
