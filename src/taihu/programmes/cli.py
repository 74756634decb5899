"""`taihu programme …` commands: programmes, the review's upper stages, the registries."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from taihu.accounts import Principal
from taihu.core import SystemClock
from taihu.core.commands import console, fail, import_file, load_settings, open_database, run
from taihu.programmes.applications import ProgrammeApplications
from taihu.programmes.registry import AwardFilter, RegistryService
from taihu.programmes.registry_import import import_awards
from taihu.programmes.service import ProgrammeService
from taihu.programmes.statistics import BREAKDOWNS, holders_by

__all__ = ["app"]

app = typer.Typer(
    help="Programmes (试点示范, 星级上云 …), applications and registries.", no_args_is_help=True
)


@app.command("list")
def list_() -> None:
    """List the programmes (the built-ins are written on first use)."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            rows = await ProgrammeService(session).all()
        # One line each: the stages and names are too wide for a table on a terminal.
        for p in rows:
            grades = "/".join(g["key"] for g in p.grades) or "-"
            console.print(
                f"{p.id:>3} {p.key:<28} {p.level:<10} grades {grades:<14} "
                f"{' → '.join(p.stages)}  {p.name_zh}",
                highlight=False,
            )

    run(_run())


@app.command("accepting")
def accepting(
    programme: int = typer.Argument(..., help="Programme id."),
    closed: bool = typer.Option(False, "--closed", help="Close it to new applications."),
) -> None:
    """Open a programme to new applications (or close it with --closed)."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            row = await ProgrammeService(session).set_accepting(
                Principal.system(), programme, not closed
            )
        state = "open to" if row.accepting else "closed to"
        console.print(f"{row.key} is {state} new applications", highlight=False)

    run(_run())


@app.command("form")
def form(
    programme: int = typer.Argument(..., help="Programme id."),
    form_id: str = typer.Argument("", help="The survey's form id; empty: the built-in form."),
) -> None:
    """Make a survey form the programme's application form (or go back to the built-in one)."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            row = await ProgrammeService(session).set_form(
                Principal.system(), programme, form_id or None
            )
        console.print(f"{row.key}: form {row.form_id or '(built-in)'}", highlight=False)

    run(_run())


@app.command("applications")
def applications(
    programme: int | None = typer.Option(None, "--programme", help="Programme id."),
    status: str | None = typer.Option(None, "--status", help="in_review, returned, approved…"),
) -> None:
    """List applications and the stage each is at."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            rows = await ProgrammeApplications(session).all(
                Principal.system(), programme_id=programme, status=status
            )
        table = Table("id", "programme", "enterprise", "stage", "status", "updated")
        for a in rows:
            table.add_row(
                str(a.id),
                str(a.programme_id),
                str(a.enterprise_id),
                a.stage,
                a.status,
                f"{a.updated_at:%Y-%m-%d %H:%M}",
            )
        console.print(table)

    run(_run())


@app.command("decide")
def decide(
    application: int = typer.Argument(..., help="Application id."),
    decision: str = typer.Argument(..., help="pass, return (district stage only) or reject."),
    comment: str = typer.Option("", "--comment", help="Needed for return and reject."),
    grade: str = typer.Option("", "--grade", help="At the last stage, where there are grades."),
    since: str = typer.Option("", "--since", help="Award date at the last stage, YYYY-MM-DD."),
) -> None:
    """Enter a stage's decision (an upper stage's outcome from its notice)."""

    async def _run() -> None:
        when = date.fromisoformat(since) if since else None
        async with open_database(load_settings()) as db, db.session() as session:
            row = await ProgrammeApplications(session).decide(
                Principal.system(), application, decision, comment, grade=grade, since=when
            )
        console.print(f"application {row.id}: {row.status} at {row.stage}", highlight=False)

    try:
        run(_run())
    except ValueError:
        fail(f"{since!r} is not a date (YYYY-MM-DD)")


@app.command("award")
def award(
    programme: int = typer.Argument(..., help="Programme id."),
    enterprise: int = typer.Argument(..., help="Enterprise id."),
    since: str = typer.Option(..., "--since", help="Award date, YYYY-MM-DD."),
    until: str = typer.Option("", "--until", help="End of validity; empty: the programme's."),
    grade: str = typer.Option("", "--grade", help="Where the programme has grades."),
    note: str = typer.Option("", "--note", help="E.g. the notice it was published in."),
) -> None:
    """Register one historical award, won before the platform (a list: `programme import`)."""
    try:
        start = date.fromisoformat(since)
        end = date.fromisoformat(until) if until else None
    except ValueError:
        fail(f"{since!r} / {until!r}: dates are YYYY-MM-DD")

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            row = await RegistryService(session).register(
                Principal.system(), programme, enterprise, grade=grade, since=start, until=end,
                note=note,
            )  # fmt: skip
        console.print(
            f"award {row.id}: enterprise {row.enterprise_id} since {row.since}", highlight=False
        )

    run(_run())


@app.command("awards")
def awards(
    programme: int | None = typer.Option(None, "--programme", help="Programme id."),
    year: int | None = typer.Option(None, "--year"),
    expiring: int | None = typer.Option(None, "--expiring", help="Lapsing within N days."),
) -> None:
    """The award registry (or the awards lapsing soon)."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            rows = await RegistryService(session).awards(
                Principal.system(),
                AwardFilter(programme_id=programme, year=year),
                expiring_days=expiring,
            )
        console.print(f"{len(rows)} awards", highlight=False)
        for r in rows:
            a = r.award
            console.print(
                f"{r.programme.key:<28} {r.enterprise.credit_code} {a.level:<10} "
                f"{a.grade or '-':<12} {a.since} → {a.until or '-'}  {r.enterprise.name}",
                highlight=False,
            )

    run(_run())


@app.command("counts")
def counts() -> None:
    """Awards per programme, level and year."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            rows = await RegistryService(session).counts(Principal.system())
        table = Table("year", "programme", "level", "count")
        for r in rows:
            table.add_row(str(r["year"]), str(r["programme"]), str(r["level"]), str(r["count"]))
        console.print(table)

    run(_run())


@app.command("holders")
def holders(
    by: str = typer.Option("township", "--by", help="township, industry or chain."),
    programme: int | None = typer.Option(None, "--programme", help="Programme id."),
    ever: bool = typer.Option(False, "--ever", help="Every award, not only those in force."),
) -> None:
    """Enterprises holding each programme's title per township, industry class or chain."""
    if by not in BREAKDOWNS:
        fail(f"--by is one of {', '.join(BREAKDOWNS)}")

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            rows = await holders_by(
                session, Principal.system(), by, today=SystemClock().now().date(),
                programme_id=programme, current=not ever,
            )  # fmt: skip
        table = Table(by, "name", "programme", "count")
        for r in rows:
            table.add_row(r.group or "-", r.name_zh or "-", r.programme, str(r.count))
        console.print(table)

    run(_run())


@app.command("export")
def export(file: Path = typer.Argument(..., help="The .xlsx file to write.")) -> None:
    """Export the award registry as xlsx (the import's layout)."""

    async def _run() -> bytes:
        async with open_database(load_settings()) as db, db.session() as session:
            return await RegistryService(session).export_xlsx(Principal.system())

    file.write_bytes(run(_run()))
    console.print(f"wrote {file}", highlight=False)


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="An .xlsx or .csv award list, header in row 1."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Write the valid rows."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate only; write nothing."),
) -> None:
    """Import an existing award list, with a row report."""
    import_file(
        file,
        lambda session, content, progress: import_awards(
            session,
            SystemClock(),
            Principal.system(),
            file.name,
            content,
            skip_invalid=skip_invalid,
            dry_run=dry_run,
            progress=progress,
        ),
        dry_run=dry_run,
    )
