"""`taihu token …` commands (users are managed by `taihu user`, which also links enterprises)."""

from __future__ import annotations

import typer
from rich.table import Table

from taihu.accounts.principal import Principal
from taihu.accounts.service import AccountService
from taihu.core import utcnow
from taihu.core.commands import console, load_settings, open_database, run

__all__ = ["token_app"]

token_app = typer.Typer(help="API tokens (shown once, stored hashed).", no_args_is_help=True)


@token_app.command("create")
def create(
    username: str = typer.Argument(..., help="The user the token acts as."),
    expires: int | None = typer.Option(
        None, "--expires", help="Days until it expires (default: TAIHU_TOKEN_DAYS)."
    ),
    name: str = typer.Option("", "--name", help="A label, e.g. what uses the token."),
) -> None:
    """Issue an API token; the token is printed once, as the last line."""

    async def _run() -> str:
        settings = load_settings()
        async with open_database(settings) as db, db.session() as session:
            accounts = AccountService(session, settings.security)
            user = await accounts.get_user(username)
            issued = await accounts.create_token(
                Principal.system(), user, name=name, expires_days=expires
            )
        expiry = (
            f"{issued.token.expires_at:%Y-%m-%d %H:%M} UTC" if issued.token.expires_at else "never"
        )
        console.print(
            f"token {issued.token.id} for {user.username}, expires {expiry}. "
            "It is shown only now:", highlight=False,
        )  # fmt: skip
        return issued.plain

    # A bare last line, so scripts can take it with `| tail -n 1`.
    typer.echo(run(_run()))


@token_app.command("revoke")
def revoke(
    token_id: int = typer.Argument(..., help="The token's id (see `taihu token list`)."),
) -> None:
    """Revoke an API token at once."""

    async def _run() -> None:
        settings = load_settings()
        async with open_database(settings) as db, db.session() as session:
            token = await AccountService(session, settings.security).revoke_token(
                Principal.system(), token_id
            )
        console.print(f"token {token.id} revoked", highlight=False)

    run(_run())


@token_app.command("list")
def list_(username: str | None = typer.Argument(None, help="Only this user's tokens.")) -> None:
    """List API tokens (never their values)."""

    async def _run() -> None:
        settings = load_settings()
        async with open_database(settings) as db, db.session() as session:
            accounts = AccountService(session, settings.security)
            user = await accounts.get_user(username) if username else None
            tokens = await accounts.list_tokens(Principal.system(), user)
            names = {u.id: u.username for u in await accounts.list_users(Principal.system())}
        now = utcnow()
        table = Table("id", "user", "name", "hint", "expires", "state")
        for t in tokens:
            if t.revoked_at:
                state = "revoked"
            elif t.expires_at and t.expires_at <= now:
                state = "expired"
            else:
                state = "active"
            expires = f"{t.expires_at:%Y-%m-%d}" if t.expires_at else "never"
            table.add_row(
                str(t.id),
                names.get(t.user_id, str(t.user_id)),
                t.name,
                t.hint + "…",
                expires,
                state,
            )
        console.print(table)

    run(_run())
