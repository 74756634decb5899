"""`taihu db …`: schema migrations."""

from __future__ import annotations

import typer

from taihu.core import schema_state, upgrade
from taihu.core.commands import console, load_settings, open_database, run

__all__ = ["app"]

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd(
    revision: str = typer.Argument(
        "heads", help="Target revision (default: the newest of every context's branch)."
    ),
) -> None:
    """Migrate the database schema up to the newest revision."""

    async def _run() -> None:
        async with open_database(load_settings(), require_current=False) as db:
            before = await schema_state(db)
            after = await upgrade(db, revision)
        if before.current == after.current:
            console.print(f"schema already at {after.current_label}", highlight=False,
                          soft_wrap=True)  # fmt: skip
        else:
            console.print(
                f"schema upgraded from {before.current_label} to {after.current_label}",
                highlight=False,
                soft_wrap=True,  # one line whatever the terminal: the revisions list grows
            )

    run(_run())


@app.command("current")
def current() -> None:
    """Show the schema revision of the database and whether it is current."""

    async def _run() -> None:
        async with open_database(load_settings(), require_current=False) as db:
            state = await schema_state(db)
        note = (
            "current"
            if state.is_current
            else f"outdated; run `taihu db upgrade` to reach {state.heads_label}"
        )
        console.print(f"{state.current_label} ({note})", highlight=False, soft_wrap=True)

    run(_run())
