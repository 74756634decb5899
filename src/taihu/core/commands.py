"""Helpers shared by every context's command group: Rich console, failing cleanly, the database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NoReturn, Protocol, TypeVar

import typer
from pydantic import ValidationError
from pydantic_settings import BaseSettings
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from taihu import settings as settings_module
from taihu.core.db import Database
from taihu.core.errors import TaihuError
from taihu.core.migrate import schema_state
from taihu.settings import Settings

__all__ = [
    "console",
    "database_for",
    "err_console",
    "fail",
    "import_file",
    "load_settings",
    "open_database",
    "run",
    "show_import_report",
]

T = TypeVar("T")

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print an error the way every command does and exit."""
    # Never hard-wrapped: a pipe or log file gets one line, and commands quoted in the message
    # (`taihu db upgrade`, `python -c '…'`) stay whole for copying.
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def load_settings() -> Settings:
    """The settings from the environment, or a one-line error naming the bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        model = getattr(settings_module, exc.title, Settings)
        prefix = "TAIHU_"
        if isinstance(model, type) and issubclass(model, BaseSettings):
            prefix = model.model_config.get("env_prefix") or prefix
        problems = [
            f"{prefix}{'_'.join(str(p) for p in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        ]
        fail("invalid setting " + "; ".join(problems))


def database_for(settings: Settings) -> Database:
    """The database the settings point at (the data directory is created when needed)."""
    if not settings.database.url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Database(
        settings.database_url,
        echo=settings.database.echo,
        pool_size=settings.database.pool_size,
        busy_timeout_ms=settings.database.busy_timeout_ms,
    )


@asynccontextmanager
async def open_database(
    settings: Settings, *, require_current: bool = True
) -> AsyncIterator[Database]:
    """Open the database for a command, refusing an outdated schema with the command to run."""
    db = database_for(settings)
    try:
        try:
            await db.ping()
        except (SQLAlchemyError, OSError) as exc:
            where = make_url(db.url).render_as_string(hide_password=True)
            fail(f"cannot reach the database at {where}: {type(exc).__name__}: {exc}")
        if require_current:
            state = await schema_state(db)
            if not state.is_current:
                fail(state.outdated_message)
        yield db
    finally:
        await db.dispose()


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's async body, turning domain errors into a clean message and exit code 1."""
    try:
        return asyncio.run(work)
    except TaihuError as exc:
        fail(exc.message)


class _RowProblem(Protocol):
    @property
    def row(self) -> int: ...
    @property
    def column(self) -> str: ...
    @property
    def reason(self) -> str: ...


class ImportOutcome(Protocol):
    """What a spreadsheet import reports (rows counted by what happened to them)."""

    @property
    def rows(self) -> int: ...
    @property
    def created(self) -> int: ...
    @property
    def updated(self) -> int: ...
    @property
    def unchanged(self) -> int: ...
    @property
    def skipped(self) -> int: ...
    @property
    def applied(self) -> bool: ...
    @property
    def problems(self) -> Sequence[_RowProblem]: ...


def show_import_report(report: ImportOutcome, *, dry_run: bool) -> None:
    """Print an import's problems and counts; exit 1 when problems kept it from writing."""
    if report.problems:
        table = Table("row", "column", "reason", title=f"{len(report.problems)} problem(s)")
        for problem in report.problems:
            table.add_row(str(problem.row), problem.column, problem.reason)
        console.print(table)
    counted = report.created or report.updated or report.unchanged
    verb = (
        "imported" if report.applied
        else "would import" if dry_run and (counted or not report.problems)
        else "refused, nothing written" if report.problems
        else "nothing written"
    )  # fmt: skip
    console.print(
        f"{verb}: {report.rows} rows, {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.skipped} skipped",
        highlight=False,
    )
    if report.problems and not report.applied:
        raise typer.Exit(1)


ImportWork = Callable[[AsyncSession, bytes, Callable[[int, int], None]], Awaitable[ImportOutcome]]


def import_file(path: Path, work: ImportWork, *, dry_run: bool) -> ImportOutcome:
    """Run a file import the way every ``… import`` command does, and print its report.

    Reads the file (a clean error when it cannot), opens the database and one unit of work,
    shows a progress bar fed by ``work``'s callback, then the report (exit 1 when problems kept
    it from writing).
    """
    try:
        content = path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")

    async def _run() -> ImportOutcome:
        async with open_database(load_settings()) as db, db.session() as session:
            with Progress(
                TextColumn("[bold]import[/]"), BarColumn(), MofNCompleteColumn(),
                console=console, transient=True,
            ) as bar:  # fmt: skip
                task = bar.add_task("", total=None)
                return await work(
                    session, content,
                    lambda done, total: bar.update(task, completed=done, total=total),
                )  # fmt: skip

    report = run(_run())
    show_import_report(report, dry_run=dry_run)
    return report
