"""`taihu enterprise …` commands."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from taihu.accounts import Principal
from taihu.core import SystemClock
from taihu.core.commands import console, import_file, load_settings, open_database, run
from taihu.enterprises.models import Enterprise
from taihu.enterprises.registry_import import import_registry
from taihu.enterprises.service import EnterpriseService

__all__ = ["app"]

_BATCH = 500

app = typer.Typer(help="Enterprises of the district.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Registered name of the enterprise."),
    credit_code: str = typer.Option(..., "--credit-code", help="Unified social credit code."),
) -> None:
    """Register an enterprise (the credit code is checked per GB 32100-2015)."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            enterprise = await EnterpriseService(session).create(
                Principal.system(), name, credit_code
            )
        console.print(
            f"created enterprise {enterprise.id}: {enterprise.name} ({enterprise.credit_code})",
            highlight=False,
        )

    run(_run())


@app.command("list")
def list_(
    search: str | None = typer.Option(None, "--search", "-q", help="Name part or credit code."),
) -> None:
    """List enterprises."""

    async def _run() -> None:
        rows: list[Enterprise] = []
        async with open_database(load_settings()) as db, db.session() as session:
            registry = EnterpriseService(session)
            while True:
                batch, total = await registry.list(
                    Principal.system(), search=search, limit=_BATCH, offset=len(rows)
                )
                rows.extend(batch)
                if len(batch) < _BATCH:
                    break
        title = f"{total} enterprise" + ("" if total == 1 else "s")
        table = Table("id", "name", "credit code", "created", title=title)
        for e in rows:
            table.add_row(str(e.id), e.name, e.credit_code, f"{e.created_at:%Y-%m-%d %H:%M}")
        console.print(table)

    run(_run())


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="An .xlsx or .csv file, header in the first row."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Write the valid rows and skip the others."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and count; write nothing."),
) -> None:
    """Import or update enterprises from a spreadsheet, with a validation report."""
    import_file(
        file,
        lambda session, content, progress: import_registry(
            session, SystemClock(), Principal.system(), file.name, content,
            skip_invalid=skip_invalid, dry_run=dry_run, progress=progress,
        ),
        dry_run=dry_run,
    )  # fmt: skip
