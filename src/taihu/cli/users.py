"""`taihu user …`: users and their enterprise membership (spans accounts and enterprises)."""

from __future__ import annotations

import typer
from rich.table import Table

from taihu.accounts import AccountService, Principal, Role
from taihu.core.commands import console, load_settings, open_database, run
from taihu.enterprises import EnterpriseService

__all__ = ["app"]

app = typer.Typer(help="Users of the platform.", no_args_is_help=True)


@app.command("create")
def create(
    username: str = typer.Argument(..., help="Sign-in name (lower-case letters, digits, . _ -)."),
    role: Role = typer.Option(..., "--role", help="admin, bureau, auditor or enterprise."),
    password: str = typer.Option(
        ..., "--password", prompt=True, hide_input=True, help="At least 8 characters."
    ),
    enterprise: list[str] = typer.Option(
        [], "--enterprise", help="Credit code of an enterprise the user acts for (repeatable)."
    ),
    display_name: str = typer.Option("", "--display-name", help="Name shown in the console."),
) -> None:
    """Create a user, optionally acting for enterprises."""

    async def _run() -> None:
        settings = load_settings()
        actor = Principal.system()
        async with open_database(settings) as db, db.session() as session:
            # Resolve the enterprises first: a bad credit code leaves no user behind.
            registry = EnterpriseService(session)
            enterprises = [await registry.get_by_credit_code(code) for code in enterprise]
            accounts = AccountService(session, settings.security)
            user = await accounts.create_user(
                actor, username, password, role, display_name=display_name
            )
            for e in enterprises:
                await accounts.add_membership(actor, user, e.id)
        names = ", ".join(e.name for e in enterprises)
        console.print(
            f"created user {user.username} ({user.role})" + (f" for {names}" if names else ""),
            highlight=False,
        )

    run(_run())


@app.command("list")
def list_() -> None:
    """List users with their roles and enterprises."""

    async def _run() -> None:
        settings = load_settings()
        async with open_database(settings) as db, db.session() as session:
            accounts = AccountService(session, settings.security)
            users = await accounts.list_users(Principal.system())
            table = Table("id", "user", "name", "role", "enterprises", "active", "last sign-in")
            for u in users:
                ids = sorted(await accounts.enterprise_ids(u.id))
                last = f"{u.last_login_at:%Y-%m-%d %H:%M}" if u.last_login_at else "never"
                table.add_row(
                    str(u.id), u.username, u.display_name, u.role,
                    ", ".join(map(str, ids)) or "—", "yes" if u.is_active else "no", last,
                )  # fmt: skip
        console.print(table)

    run(_run())
