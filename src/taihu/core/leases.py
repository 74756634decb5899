"""Job leases: a periodic job that must run once across every process sharing the database.

Retention, meter sync, node filings and the notices' outbox rounds are each meant to run in one
place. With one server that is the supervisor; with several servers on one PostgreSQL (issue 19)
each would start its own copy. A lease is a row per job in ``job_leases``: a process runs a round
only while it holds the row, which it takes when the row is free or its holder's time has run
out, and keeps by renewing it each round::

    round due ──► take or renew the row (one UPDATE, compare-and-set on holder/until)
                   ├─ held ──► last round long enough ago? ──► run ──► note when it ran
                   └─ someone else holds it ──► skip this round

The row also remembers when the last round ran, so a process that takes over from one that died
waits out the interval rather than repeating a round that has just happened. A round longer than
the ttl renews the row while it runs. A holder that dies keeps the row until ``ttl`` seconds after
its last renewal (at once when it was a process of the same machine: its pid is gone); one that
stops gives it back at once.
Times are each process's wall clock (UTC seconds): servers sharing a database keep their clocks
in step (NTP) to well within the ttl.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from taihu.core.db import Base, Database

__all__ = ["JobLease", "JobLeaseRow", "holder_name", "singleton_lease"]


class JobLeaseRow(Base):
    """Who runs a singleton job, until when, and when its last round ran."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(128), server_default="")
    held_until: Mapped[float] = mapped_column(sa.Float, server_default="0")  # UTC seconds
    last_round_at: Mapped[float] = mapped_column(sa.Float, server_default="0")  # UTC seconds


def _dead_here(holder: str) -> bool:
    """Whether ``holder`` names a process of this machine that no longer runs."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:80] or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def holder_name() -> str:
    """This process among all servers: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


_HOLDER = holder_name()
_TABLE = cast("sa.Table", JobLeaseRow.__table__)


class JobLease:
    """The right to run job ``name`` in this process, taken and renewed round by round."""

    def __init__(
        self,
        db: Database,
        name: str,
        *,
        ttl: float = 60.0,
        holder: str | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.db, self.name, self.ttl = db, name, ttl
        self.holder = holder or _HOLDER
        self._now = now
        self._known = False  # the row exists (inserted by this process or found)

    async def turn(self, interval: float) -> bool:
        """Whether this process runs the round now: it holds the lease and the round is due.

        Takes the lease if free or expired and renews it if ours (a compare-and-set on holder
        and expiry, so two processes never both hold it); then reads when the last round ran,
        whoever ran it, so a new holder does not repeat a round another has just done.
        """
        now = self._now()
        if not self._known:
            await self._ensure_row()
        claim = (
            sa.update(_TABLE)
            .where(_TABLE.c.name == self.name)
            .where(sa.or_(_TABLE.c.holder == self.holder, _TABLE.c.held_until < now))
            .values(holder=self.holder, held_until=now + self.ttl)
        )
        row = sa.select(_TABLE.c.holder, _TABLE.c.last_round_at).where(_TABLE.c.name == self.name)
        async with self.db.session() as session:
            if not (await session.execute(claim)).rowcount:  # type: ignore[attr-defined]
                holder = (await session.execute(row)).one().holder
                if not _dead_here(holder):
                    return False
                # Its process on this machine is gone (a kill -9, a crash): take over now
                # rather than after the ttl, which a restarted server would otherwise wait out.
                taken = await session.execute(
                    sa.update(_TABLE)
                    .where(_TABLE.c.name == self.name, _TABLE.c.holder == holder)
                    .values(holder=self.holder, held_until=now + self.ttl)
                )
                if not taken.rowcount:  # type: ignore[attr-defined]
                    return False
            ran_at = float((await session.execute(row)).one().last_round_at)
        # Slack: each process's timer starts rounds, not the row's clock.
        return now >= ran_at + interval * 0.9

    async def renew(self) -> None:
        """Keep the lease while a long round runs (the job renews it every third of the ttl)."""
        async with self.db.session() as session:
            await session.execute(
                sa.update(_TABLE)
                .where(_TABLE.c.name == self.name, _TABLE.c.holder == self.holder)
                .values(held_until=self._now() + self.ttl)
            )

    async def ran(self) -> None:
        """Note that a round has just run here."""
        async with self.db.session() as session:
            await session.execute(
                sa.update(_TABLE)
                .where(_TABLE.c.name == self.name, _TABLE.c.holder == self.holder)
                .values(last_round_at=self._now())
            )

    async def release(self) -> None:
        """Give the lease back, so another process takes it at its next round."""
        async with self.db.session() as session:
            await session.execute(
                sa.update(_TABLE)
                .where(_TABLE.c.name == self.name, _TABLE.c.holder == self.holder)
                .values(held_until=0.0)
            )

    async def _ensure_row(self) -> None:
        async with self.db.session() as session:
            found = (
                await session.execute(sa.select(_TABLE.c.name).where(_TABLE.c.name == self.name))
            ).first()
            if found is None:
                # Two processes may both find no row: the primary key lets one insert win.
                try:
                    async with session.begin_nested():
                        await session.execute(sa.insert(_TABLE).values(name=self.name))
                except sa.exc.IntegrityError:
                    pass
        self._known = True


def singleton_lease(db: Database, name: str, interval: float) -> JobLease | None:
    """The lease for a job that runs once across processes; None where one process runs jobs.

    On SQLite the database is one file on one machine served by one supervisor, which alone runs
    the jobs: a lease would only add a write per round to its single writer.
    """
    if db.dialect == "sqlite":
        return None
    return JobLease(db, name, ttl=max(interval * 3, 30.0))
