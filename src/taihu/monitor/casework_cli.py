"""`taihu monitor` commands of blocker cases: open, act, list, a key enterprise's unblock list."""

from __future__ import annotations

import typer
from rich.table import Table

from taihu.core.commands import console, load_settings, open_database, run
from taihu.enterprises import EnterpriseService
from taihu.monitor.casework import CaseFilter, CaseService
from taihu.monitor.cli_options import SYSTEM, option_day, required_day
from taihu.monitor.schemas import CaseOut, UnblockItemOut
from taihu.monitor.service import MonitorService

__all__ = ["case_act", "case_open", "cases", "unblock"]


def case_open(
    code: str = typer.Argument(..., help="The enterprise's credit code."),
    category: str = typer.Option(
        ..., "--category", help="supplier, logistics, labour, funds, other."
    ),
    title: str = typer.Option(..., "--title", help="What blocks the enterprise."),
    description: str = typer.Option("", "--description", help="Details."),
) -> None:
    """Record a blocker case for an enterprise."""

    async def _run() -> int:
        async with open_database(load_settings()) as db, db.session() as session:
            enterprise = await EnterpriseService(session).get_by_credit_code(code)
            case = await CaseService(session).record(SYSTEM, enterprise.id, category, title,
                                                     description)  # fmt: skip
            return case.id

    console.print(f"case {run(_run())} recorded", highlight=False)


def case_act(
    case_id: int = typer.Argument(..., help="The case."),
    action: str = typer.Argument(..., help="assign, start, comment, close or reopen."),
    comment: str = typer.Option("", "--comment", help="Comment, or the report-back to close."),
    officer: str | None = typer.Option(None, "--officer", help="Officer (assign)."),
    deadline: str | None = typer.Option(None, "--deadline", help="Deadline (assign)."),
) -> None:
    """Assign, start, comment on, close or reopen a case."""

    async def _run() -> str:
        async with open_database(load_settings()) as db, db.session() as session:
            case = await CaseService(session).act(
                SYSTEM, case_id, action, comment=comment, officer=officer,
                deadline=option_day(deadline, "--deadline"),
            )  # fmt: skip
            return case.state

    console.print(f"case {case_id} is {run(_run())}", highlight=False)


def cases(
    state: str | None = typer.Option(None, "--state", help="open, assigned, in_progress, closed."),
    overdue: bool = typer.Option(False, "--overdue", help="Only open cases past their deadline."),
) -> None:
    """List blocker cases, newest first."""

    async def _run() -> list[CaseOut]:
        async with open_database(load_settings()) as db, db.session() as session:
            service = CaseService(session)
            found, _ = await service.find(SYSTEM, CaseFilter(state=state, overdue=overdue),
                                          limit=500)  # fmt: skip
            return [CaseOut.of(c, service.overdue(c)) for c in found]

    table = Table("id", "enterprise", "category", "state", "officer", "deadline", "title")
    for c in run(_run()):
        deadline = str(c.deadline or "-") + (" [red]overdue[/]" if c.overdue else "")
        table.add_row(str(c.id), str(c.enterprise_id), c.category, c.state, c.officer or "-",
                      deadline, c.title)  # fmt: skip
    console.print(table)


def unblock(
    code: str = typer.Argument(..., help="The key enterprise's credit code."),
    day: str = typer.Option(..., "--date", help="The day whose resumption counts."),
    open_cases: bool = typer.Option(False, "--open-cases", help="Open a case for each supplier."),
    officer: str | None = typer.Option(None, "--officer", help="Assign the new cases to."),
    deadline: str | None = typer.Option(None, "--deadline", help="Deadline of the new cases."),
) -> None:
    """A key enterprise's non-resumed critical suppliers (以点带线扩面), best first."""
    settings = load_settings()
    when = required_day(day, "--date")

    async def _run() -> tuple[str, list[UnblockItemOut], int]:
        async with open_database(settings) as db, db.session() as session:
            monitor, cases_ = MonitorService(session, settings.monitor), CaseService(session)
            if open_cases:
                key, items, opened = await cases_.open_unblock_cases(
                    SYSTEM, monitor, code, when, officer=officer,
                    deadline=option_day(deadline, "--deadline"),
                )  # fmt: skip
            else:
                key, items = await cases_.unblock_list(SYSTEM, monitor, code, when)
                opened = 0
            return key.name, [UnblockItemOut.of(i) for i in items], opened

    name, items, opened = run(_run())
    table = Table("supplier", "credit code", "depth", "restores", "value", "case",
                  title=f"unblock list of {name} on {when}")  # fmt: skip
    for item in items:
        table.add_row(item.name, item.credit_code, str(item.depth), str(item.restores),
                      f"{item.value:.0f}", str(item.case_id or "-"))  # fmt: skip
    console.print(table)
    if open_cases:
        console.print(f"{opened} case(s) opened", highlight=False)
