"""`taihu survey …` commands: a survey's export written to a file with a progress bar."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from taihu.accounts import Principal
from taihu.core import SystemClock
from taihu.core.commands import console, fail, load_settings, open_database, run
from taihu.surveys.review import Review

__all__ = ["app"]

app = typer.Typer(help="Surveys (产业摸底调研).", no_args_is_help=True)


@app.command("export")
def export(
    form_id: str = typer.Argument(..., help="The survey's form id."),
    format: str = typer.Option("xlsx", "--format", help="xlsx, or csv (a zip of CSV files)."),
    out: Path | None = typer.Option(
        None, "--out", help="File to write (default: FORM_ID.xlsx or FORM_ID-csv.zip here)."
    ),
    include_test: bool = typer.Option(
        False, "--include-test", help="Include the draft's test submissions."
    ),
) -> None:
    """Export a survey's submissions, streamed from the database a batch at a time."""
    if format not in ("xlsx", "csv"):
        fail(f"--format is xlsx or csv, not {format}")
    target = out or Path(f"{form_id}.xlsx" if format == "xlsx" else f"{form_id}-csv.zip")
    # Written beside the target and renamed at the end: a failed export leaves no half file.
    partial = target.with_name(target.name + ".part")

    async def _run() -> int:
        async with open_database(load_settings()) as db, db.session() as session:
            with Progress(
                TextColumn("[bold]export[/]"), BarColumn(), MofNCompleteColumn(),
                console=console, transient=True,
            ) as bar:  # fmt: skip
                task = bar.add_task("", total=None)
                return await Review(session, SystemClock()).export_to(
                    Principal.system(),
                    form_id,
                    "csv" if format == "csv" else "xlsx",
                    partial,
                    include_test=include_test,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )

    try:
        count = run(_run())
        partial.replace(target)
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror}")
    finally:
        partial.unlink(missing_ok=True)
    console.print(f"{count} submissions written to {target}", highlight=False)
