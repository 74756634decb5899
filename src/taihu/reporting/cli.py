"""`taihu report …` commands: report tasks, their drafts and deadlines; data tasks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import TypeVar

import typer
from rich.table import Table

from taihu.accounts import Principal
from taihu.core import Clock, Database, SystemClock
from taihu.core.commands import console, fail, load_settings, open_database, run
from taihu.reporting.datatasks import (
    BUILTIN,
    DataTaskService,
    DataTaskSpec,
    OpenRound,
    open_due_periods,
)
from taihu.reporting.figures import CATALOGUE
from taihu.reporting.jobs import DraftRound, generate_due
from taihu.reporting.problems import run_problems
from taihu.reporting.service import ReportingService
from taihu.settings import Settings

__all__ = ["app"]

app = typer.Typer(help="Reports to upper departments (按期上报).", no_args_is_help=True)
Round = TypeVar("Round")


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{text} is not a date (YYYY-MM-DD)")


def _due_round_or_one(
    task: int,
    today: str,
    due_round: Callable[[Database, Settings, Clock, date | None], Awaitable[Round]],
    tally: Callable[[Round], str],
    one: Callable[[Database, Settings, Clock], Awaitable[list[str]]],
) -> None:
    """Do now what the server's job does as on ``today`` (no ``--task``), or ``one`` task's period.

    Prints the round's tally, or the lines ``one`` returns.
    """

    async def _run() -> list[str]:
        settings = load_settings()
        clock = SystemClock()
        async with open_database(settings) as db:
            if not task:
                return [tally(await due_round(db, settings, clock, _day(today)))]
            return await one(db, settings, clock)

    for line in run(_run()):
        console.print(line, highlight=False)


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

    def tally(result: DraftRound) -> str:
        made, failed = len(result.made), len(result.failed)
        return f"{made} drafts made, {result.existing} existed, {failed} failed"

    async def one(db: Database, settings: Settings, clock: Clock) -> list[str]:
        async with db.session() as session:
            row, made = await ReportingService(session, clock, settings.monitor).generate(
                Principal.system(), task, period or None, today=_day(today)
            )
        state = "made" if made else "exists"
        problems = run_problems(row)
        head = f"run {row.id} {row.period_key} {state}: {len(problems)} problems"
        return [head, *(f"  {problem}" for problem in problems)]

    _due_round_or_one(task, today, generate_due, tally, one)


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


@app.command("data-tasks")
def data_tasks() -> None:
    """List the data tasks to enterprises and their latest periods' response rates."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            service = DataTaskService(session)
            system = Principal.system()
            table = Table("id", "key", "title", "cadence", "scope", "active", "latest periods")
            for t in await service.tasks(system):
                periods = await service.periods(system, t.id)
                latest = ", ".join(
                    f"{p.period.period_key} {p.rate.answered}/{p.rate.asked}" for p in periods[:3]
                )
                scope = f"{t.scope} {t.scope_value}".strip()
                table.add_row(
                    str(t.id), t.key, t.title, t.cadence, scope, str(t.active), latest or "-"
                )
        console.print(table)

    run(_run())


@app.command("data-task-add")
def data_task_add(
    key: str = typer.Argument(..., help="The task's key, e.g. monthly_ops."),
    title: str = typer.Argument(..., help="The title, e.g. 月度经营数据."),
    form: str = typer.Option(BUILTIN, "--form", help="builtin, or a published survey's form id."),
    cadence: str = typer.Option("monthly", "--cadence", help="weekly, monthly or quarterly."),
    due_day: int = typer.Option(10, "--due-day", help="Weekday 1-7 (weekly) or day 1-28."),
    lead_days: int = typer.Option(10, "--lead-days", help="Opened this many days early."),
    scope: str = typer.Option("all", "--scope", help="all, township, industry, chain or selected."),
    value: str = typer.Option("", "--value", help="The township, industry code, chain key or ids."),
) -> None:
    """Add a data task to enterprises (each period a survey asks its audience)."""

    async def _run() -> None:
        spec = DataTaskSpec(key, title, form, cadence, scope, value, due_day, lead_days)
        async with open_database(load_settings()) as db, db.session() as session:
            row = await DataTaskService(session).create(Principal.system(), spec)
        console.print(f"data task {row.id} {row.key} added", highlight=False)

    run(_run())


@app.command("open-periods")
def open_periods(
    task: int = typer.Option(0, "--task", help="One task's period (0: every active task's)."),
    period: str = typer.Option("", "--period", help="The period, e.g. 2026-11 (with --task)."),
    today: str = typer.Option("", "--today", help="Open as on this day (YYYY-MM-DD)."),
) -> None:
    """Open the data tasks' due periods now (what the server's job does), or one period."""

    def tally(result: OpenRound) -> str:
        opened, failed = len(result.opened), len(result.failed)
        return f"{opened} periods opened, {result.existing} were open, {failed} failed"

    async def one(db: Database, _settings: Settings, clock: Clock) -> list[str]:
        if not period:
            fail("--period is needed with --task")
        async with db.session() as session:
            row, made = await DataTaskService(session, clock).open_period(
                Principal.system(), task, period
            )
        state = "opened" if made else "was open"
        return [f"{row.period_key} {state}: {row.asked} enterprises asked"]

    _due_round_or_one(task, today, open_due_periods, tally, one)
