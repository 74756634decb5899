"""`taihu report …` commands: report tasks, their drafts and deadlines."""

from __future__ import annotations

from datetime import date

import typer
from rich.table import Table

from taihu.accounts import Principal
from taihu.core import SystemClock
from taihu.core.commands import console, fail, load_settings, open_database, run
from taihu.reporting.figures import CATALOGUE
from taihu.reporting.jobs import generate_due
from taihu.reporting.service import ReportingService

__all__ = ["app"]

app = typer.Typer(help="Reports to upper departments (按期上报).", no_args_is_help=True)


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{text} is not a date (YYYY-MM-DD)")


@app.command("list")
def list_() -> None:
    """List the report tasks."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            rows = await ReportingService(session).tasks(Principal.system())
        table = Table("id", "title", "issuing body", "cadence", "owner", "active")
        for t in rows:
            table.add_row(str(t.id), t.title, t.issuing_body, t.cadence, t.owner, str(t.active))
        console.print(table)

    run(_run())


@app.command("figures")
def figures() -> None:
    """The figure catalogue a template's cells are bound to."""
    for f in CATALOGUE.values():
        params = ", ".join(f.params) or "-"
        kind = "table" if f.table else "cell"
        console.print(f"{f.name:<28} {kind:<5} ({params})  {f.doc}", highlight=False)


@app.command("generate")
def generate(
    task: int = typer.Option(0, "--task", help="One task's draft (0: every active task's)."),
    period: str = typer.Option("", "--period", help="The period, e.g. 2026-W18 (with --task)."),
    today: str = typer.Option("", "--today", help="Generate as on this day (YYYY-MM-DD)."),
) -> None:
    """Generate the due drafts now (what the server's job does), or one task's period."""

    async def _run() -> None:
        settings = load_settings()
        clock = SystemClock()
        async with open_database(settings) as db:
            if not task:
                result = await generate_due(db, settings, clock, _day(today))
                console.print(
                    f"{len(result.made)} drafts made, {result.existing} existed, "
                    f"{len(result.failed)} failed",
                    highlight=False,
                )
                return
            async with db.session() as session:
                row, made = await ReportingService(session, clock, settings.monitor).generate(
                    Principal.system(), task, period or None, today=_day(today)
                )
        state = "made" if made else "exists"
        console.print(
            f"run {row.id} {row.period_key} {state}: {len(row.problems)} problems", highlight=False
        )
        for problem in row.problems:
            console.print(f"  {problem}", highlight=False)

    run(_run())


@app.command("deadlines")
def deadlines(
    days: int = typer.Option(14, "--days", min=1, max=92, help="How far ahead."),
    today: str = typer.Option("", "--today", help="As on this day (YYYY-MM-DD)."),
) -> None:
    """Unsubmitted report periods: overdue, and due within --days."""

    async def _run() -> None:
        settings = load_settings()
        day = _day(today) or SystemClock().now().astimezone(settings.console.zone).date()
        async with open_database(settings) as db, db.session() as session:
            rows = await ReportingService(session).deadlines(Principal.system(), day, days)
        table = Table("task", "title", "period", "due", "overdue", "status")
        for d in rows:
            table.add_row(
                str(d.task.id),
                d.task.title,
                d.period.key,
                d.period.due.isoformat(),
                "yes" if d.overdue else "",
                d.run.status if d.run else "not generated",
            )
        console.print(table)

    run(_run())
