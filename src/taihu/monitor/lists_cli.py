"""`taihu monitor` commands of the key-enterprise lists: create, members, list, weekly snapshot."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from taihu.core.commands import console, load_settings, open_database, run
from taihu.monitor.cli_options import SYSTEM, required_day
from taihu.monitor.report import snapshot_xlsx
from taihu.monitor.service import MonitorService

__all__ = ["list_add", "list_create", "list_remove", "lists", "snapshot"]


def list_create(
    name: str = typer.Argument(..., help="The list's name, e.g. 重点企业."),
    description: str = typer.Option("", "--description", help="What the list is for."),
) -> None:
    """Create a key-enterprise list."""
    settings = load_settings()

    async def _run() -> int:
        async with open_database(settings) as db, db.session() as session:
            return (await MonitorService(session, settings.monitor).create_list(
                SYSTEM, name, description)).id  # fmt: skip

    console.print(f"list {run(_run())} created", highlight=False)


def _members(list_ref: str, codes: list[str], *, remove: bool) -> None:
    settings = load_settings()

    async def _run() -> int:
        async with open_database(settings) as db, db.session() as session:
            monitor = MonitorService(session, settings.monitor)
            key_list = await monitor.get_list(SYSTEM, list_ref)
            return await monitor.set_members(SYSTEM, key_list.id, codes, remove=remove)

    console.print(f"{run(_run())} enterprise(s) {'removed' if remove else 'added'}",
                  highlight=False)  # fmt: skip


def list_add(
    list_ref: str = typer.Argument(..., help="List id or name."),
    codes: list[str] = typer.Argument(..., help="Credit codes."),
) -> None:
    """Add enterprises to a key-enterprise list."""
    _members(list_ref, codes, remove=False)


def list_remove(
    list_ref: str = typer.Argument(..., help="List id or name."),
    codes: list[str] = typer.Argument(..., help="Credit codes."),
) -> None:
    """Remove enterprises from a key-enterprise list."""
    _members(list_ref, codes, remove=True)


def lists() -> None:
    """Show the key-enterprise lists."""
    settings = load_settings()

    async def _run() -> list[tuple[int, str, int]]:
        async with open_database(settings) as db, db.session() as session:
            found = await MonitorService(session, settings.monitor).lists(SYSTEM)
            return [(k.id, k.name, n) for k, n in found]

    table = Table("id", "name", "members")
    for key, name, count in run(_run()):
        table.add_row(str(key), name, str(count))
    console.print(table)


def snapshot(
    list_ref: str = typer.Argument(..., help="List id or name."),
    week: str = typer.Option(..., "--week", help="Any day of the week (Monday to Sunday)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="xlsx file to write."),
) -> None:
    """Export a list's weekly snapshot to xlsx in the fixed layout (docs/monitor.md)."""
    settings = load_settings()

    async def _run() -> tuple[bytes, date]:
        async with open_database(settings) as db, db.session() as session:
            snap = await MonitorService(session, settings.monitor).snapshot(
                SYSTEM, list_ref, required_day(week, "--week")
            )
            return snapshot_xlsx(snap), snap.monday

    content, monday = run(_run())
    path = output or Path(f"snapshot-{monday}.xlsx")
    path.write_bytes(content)
    console.print(f"wrote {path}", highlight=False)
