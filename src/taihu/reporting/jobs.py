"""The reporting job: every active task's due period gets its draft, every data task's its survey.

Runs in the process that serves the MQTT transport (once per server) every
``TAIHU_REPORTING_JOB_SECONDS``. Each task is a unit of work of its own; the unique
(task, period) row makes a second server or a second round a no-op rather than a duplicate.
The same round opens the data tasks' due periods (``datatasks.open_due_periods``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.exc import IntegrityError

from taihu.accounts import Principal
from taihu.core import Clock, Database, PeriodicJob, TaihuError, singleton_lease
from taihu.reporting.datatasks import open_due_periods
from taihu.reporting.service import ReportingService
from taihu.reporting.tasks import cadence_of
from taihu.settings import Settings

__all__ = ["DraftRound", "ReportJobs", "generate_due"]

log = logging.getLogger("taihu.reporting")
SYSTEM = "reporting"


@dataclass(slots=True)
class DraftRound:
    """What one round did: runs made, tasks whose period already had one, failures."""

    made: list[int] = field(default_factory=list)
    existing: int = 0
    failed: list[int] = field(default_factory=list)


async def generate_due(
    db: Database, settings: Settings, clock: Clock, today: date | None = None
) -> DraftRound:
    """Generate the due drafts of every active task (a failing task does not stop the others)."""
    system = Principal.system(SYSTEM)
    day = today or clock.now().astimezone(settings.console.zone).date()
    result = DraftRound()
    async with db.session() as session:
        tasks = await ReportingService(session, clock, settings.monitor).tasks(
            system, active_only=True
        )
        due = []
        for task in tasks:
            period = cadence_of(task).due_now(day)
            # A period due before the task was set up is not the job's to make (by hand if wanted).
            if period is not None and period.due >= task.created_at.date():
                due.append((task.id, period.key))
    for task_id, key in due:
        try:
            async with db.session() as session:
                service = ReportingService(session, clock, settings.monitor)
                run, made = await service.generate(system, task_id, key, today=day)
                if made:
                    result.made.append(run.id)
                else:
                    result.existing += 1
        except IntegrityError:
            result.existing += 1  # another process made it between our look and our write
        except TaihuError as exc:
            log.warning("report task %s: no draft: %s", task_id, exc.message)
            result.failed.append(task_id)
    return result


class ReportJobs:
    """The server's periodic :func:`generate_due`."""

    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db, self.settings, self.clock = db, settings, clock
        every = max(settings.reporting.job_seconds, 1)
        self._job = PeriodicJob(
            "reporting", self.round, every, lease=singleton_lease(db, "reporting", every)
        )

    async def round(self) -> DraftRound:
        """One round."""
        result = await generate_due(self.db, self.settings, self.clock)
        if result.made or result.failed:
            log.info("report drafts: %d made, %d failed", len(result.made), len(result.failed))
        opened = await open_due_periods(self.db, self.settings, self.clock)
        if opened.opened or opened.failed:
            log.info("data periods: %s opened, %d failed", opened.opened, len(opened.failed))
        return result

    def start(self) -> None:
        """Start the loop (unless TAIHU_REPORTING_JOB_SECONDS is 0)."""
        if self.settings.reporting.job_seconds:
            self._job.start()

    async def stop(self) -> None:
        """Let a round under way finish, then stop."""
        await self._job.stop()
