"""Demo data of a data task: 月度经营数据 asked monthly of one township, two months answered.

The township of the demo's survey (the one with most chain enterprises) is asked; the two
months before the demo's own are opened as the job would have opened them, and most of the
township's enterprises answer each from the web form; the earlier month is approved, the later
one half approved, half awaiting review, so a report bound to ``datatasks.*`` reads both.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from taihu.accounts import Principal, Role
from taihu.core import Database, FrozenClock
from taihu.demo.chains import DistrictPlan
from taihu.enterprises import Enterprise
from taihu.reporting import (
    BUILTIN,
    DataPeriod,
    DataTaskService,
    DataTaskSpec,
    data_cadence,
    period_form_id,
    period_xlsform,
)
from taihu.surveys import Assignment, Device, Intake, Review, SurveyService, SurveyTarget

__all__ = ["DATA_TASK_KEY", "seed_data_tasks"]

DATA_TASK_KEY = "monthly_ops"
SILENT = 3  # enterprises of the township that never answer (the reminders' and rates' cases)


def _answer(form_id: str, period: str, iid: str, code: str, seed: int) -> bytes:
    output = 800 + 137 * seed
    return (
        f'<?xml version="1.0"?><data id="{form_id}" version="1"><credit_code>{code}</credit_code>'
        f"<output_value>{output}</output_value><revenue>{output * 9 // 10}</revenue>"
        f"<employees>{60 + 7 * seed}</employees><electricity>{output * 55}</electricity>"
        f"<difficulties>{'orders' if seed % 3 else 'none'}</difficulties>"
        f"<difficulty_note>{'订单较上月减少' if seed % 3 else ''}</difficulty_note>"
        f"<taihu_period>{period}</taihu_period><meta><instanceID>{iid}</instanceID></meta></data>"
    ).encode()


async def seed_data_tasks(db: Database, plan: DistrictPlan, end: datetime) -> None:
    """The monthly task, its two last months opened, answered and (partly) approved."""
    analyst = Principal("analyst", Role.BUREAU)
    clock = FrozenClock(end - timedelta(days=70))
    counts: dict[str, int] = {}
    for f in plan.firms:
        counts[f.township] = counts.get(f.township, 0) + 1
    township = max(sorted(counts), key=lambda t: counts[t])
    codes = [f.code for f in plan.firms if f.township == township]
    async with db.session() as session:
        spec = DataTaskSpec(DATA_TASK_KEY, "月度经营数据", BUILTIN, "monthly", "township", township)
        task = await DataTaskService(session, clock).create(analyst, spec)
        firms = (
            await session.execute(
                sa.select(Enterprise.id, Enterprise.credit_code)
                .where(Enterprise.credit_code.in_(codes))
                .order_by(Enterprise.id)
            )
        ).all()
        ids = [e for e, _ in firms]
        cadence = data_cadence(task)
        current = cadence.containing(end.date())
        older = cadence.previous(current)
        assert older is not None
        oldest = cadence.previous(older)
        assert oldest is not None
        surveys, intake = SurveyService(session, clock), Intake(session, clock)
        review = Review(session, clock)
        for number, period in enumerate((oldest, older)):
            # Opened on the job's day, lead_days before the deadline (answers may run past it).
            opened = datetime.combine(period.generate_on, end.timetz())
            if opened > clock.now():
                clock.advance(opened - clock.now())
            form_id = period_form_id(task, period)
            content = period_xlsform(task.xlsform, form_id, f"{period.key} {task.title}",
                                     period.key)  # fmt: skip
            await surveys.upload(analyst, content, f"{form_id}.xlsx")
            version = await surveys.publish(analyst, form_id)
            # Written directly: an assignment leaves synthetic enterprises out (real surveys
            # never ask them), and every demo enterprise is synthetic.
            assignment = Assignment(survey_id=version.survey_id, scope=task.scope,
                                    scope_value=task.scope_value, deadline=period.due,
                                    created_by=analyst.name, created_at=clock.now())  # fmt: skip
            session.add(assignment)
            await session.flush()
            session.add_all(
                SurveyTarget(survey_id=version.survey_id, enterprise_id=e,
                             assignment_id=assignment.id, deadline=period.due)
                for e in ids
            )  # fmt: skip
            session.add(
                DataPeriod(task_id=task.id, period_key=period.key, period_start=period.start,
                           period_end=period.end, due_on=period.due, survey_id=version.survey_id,
                           asked=len(ids), opened_by="data-tasks", opened_at=clock.now())
            )  # fmt: skip
            answering = firms[: max(len(firms) - SILENT, 1)]
            for seed, (enterprise_id, code) in enumerate(answering):
                clock.advance(timedelta(hours=9))
                iid = f"uuid:00000000-0000-4000-8000-{number:04d}{seed:08d}"
                device = Device(name="web:demo", enterprise_id=enterprise_id, channel="web")
                await intake.submit(device, _answer(form_id, period.key, iid, code, seed), [])
                if number == 0 or seed % 2 == 0:
                    await review.set_state(analyst, form_id, iid, "approved", "数据核对无误")
