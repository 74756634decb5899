"""`taihu id …` commands: prefixes, registration and resolution from the server's shell."""

from __future__ import annotations

import orjson
import typer
from rich.table import Table

from taihu.accounts import Principal
from taihu.core.commands import console, fail, load_settings, open_database, run
from taihu.enterprises import EnterpriseService
from taihu.identifiers.handle_json import value_to_json
from taihu.identifiers.handle_values import HandleValue, HandleValueError
from taihu.identifiers.service import IdentifierService, parse_handle

__all__ = ["app"]

app = typer.Typer(help="Identifier node: prefixes, templates, handles.", no_args_is_help=True)
prefix_app = typer.Typer(help="Node and enterprise prefixes.", no_args_is_help=True)
app.add_typer(prefix_app, name="prefix")


@prefix_app.command("create")
def prefix_create(
    prefix: str = typer.Argument(..., help="The prefix, e.g. 88.118.8."),
    enterprise: str | None = typer.Option(
        None, "--enterprise", help="Credit code of the owner enterprise (omit for a node prefix)."
    ),
    admin_password: str | None = typer.Option(
        None, "--admin-password", help="Secret key of PREFIX/ADMIN (HS_SECKEY at index 300)."
    ),
) -> None:
    """Create an active prefix and its admin handle PREFIX/ADMIN."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            owner = None
            if enterprise:
                owner = (await EnterpriseService(session).get_by_credit_code(enterprise)).id
            row = await IdentifierService(session).create_prefix(
                Principal.system(), prefix, enterprise_id=owner, admin_password=admin_password
            )
        console.print(f"created {row.kind} prefix {row.prefix}", highlight=False)
        if admin_password is not None:
            console.print(f"Handle clients log in as 300:{row.prefix}/ADMIN", highlight=False)

    run(_run())


@prefix_app.command("list")
def prefix_list() -> None:
    """List prefixes."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            rows = await IdentifierService(session).list_prefixes(Principal.system())
        table = Table("prefix", "kind", "enterprise", "status", "created", title="prefixes")
        for row in rows:
            owner = str(row.enterprise_id) if row.enterprise_id else ""
            table.add_row(row.prefix, row.kind, owner, row.status, f"{row.created_at:%Y-%m-%d}")
        console.print(table)

    run(_run())


def _parse_value(index: int, text: str) -> HandleValue:
    type_, sep, data = text.partition("=")
    if not sep or not type_:
        fail(f"--value takes TYPE=VALUE, not {text!r}")
    try:
        return HandleValue(index=index, type=type_, data=data.encode("utf-8"))
    except HandleValueError as exc:
        fail(str(exc))


@app.command("register")
def register(
    handle: str = typer.Argument(..., help="PREFIX/SUFFIX."),
    value: list[str] = typer.Option(..., "--value", help="TYPE=VALUE, repeatable (index 1, 2…)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing record."),
) -> None:
    """Register a handle with text values."""
    values = [_parse_value(i, text) for i, text in enumerate(value, start=1)]

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            result = await IdentifierService(session).put(
                Principal.system(), parse_handle(handle), values, overwrite=overwrite
            )
        console.print(
            f"{'registered' if result.created else 'replaced'} {result.handle}", highlight=False
        )

    run(_run())


@app.command("resolve")
def resolve(
    handle: str = typer.Argument(..., help="PREFIX/SUFFIX."),
    as_json: bool = typer.Option(False, "--json", help="Print the Handle REST JSON."),
) -> None:
    """Show every value of a handle (as its admin would see it)."""

    async def _run() -> None:
        parsed = parse_handle(handle)
        async with open_database(load_settings()) as db, db.session() as session:
            values = await IdentifierService(session).values(parsed)
        shown = [value_to_json(v) for v in values]
        if as_json:
            body = {"responseCode": 1, "handle": parsed.text, "values": shown}
            typer.echo(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
            return
        table = Table("index", "type", "data", "ttl", "permissions", title=parsed.text)
        for value, raw in zip(values, shown, strict=True):
            data = raw["data"]["value"]
            table.add_row(
                str(value.index),
                value.type,
                data if isinstance(data, str) else orjson.dumps(data).decode(),
                str(value.ttl),
                value.permission_bits,
            )
        console.print(table)

    run(_run())
