"""`taihu id …` commands: prefixes, registration and resolution from the server's shell."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import orjson
import typer
from rich.progress import Progress
from rich.table import Table

from taihu.accounts import Principal
from taihu.core.commands import console, fail, load_settings, open_database, run
from taihu.enterprises import EnterpriseService
from taihu.identifiers.catalog import TemplateService, parse_spec
from taihu.identifiers.handle import HandleValue, HandleValueError
from taihu.identifiers.hierarchy import app as node_app
from taihu.identifiers.hierarchy import resolve_recursively
from taihu.identifiers.prefixes import ApplicationService
from taihu.identifiers.records import value_to_json
from taihu.identifiers.registration import (
    IdentifierService,
    import_rows,
    parse_handle,
    read_table,
    seckeys_for,
)
from taihu.identifiers.wire import HandleClient, HandleResponseError, HandleWireError

__all__ = ["app", "node_app"]

app = typer.Typer(help="Identifier node: prefixes, templates, handles.", no_args_is_help=True)
prefix_app = typer.Typer(help="Node and enterprise prefixes.", no_args_is_help=True)
template_app = typer.Typer(help="Industry data templates.", no_args_is_help=True)
app.add_typer(prefix_app, name="prefix")
app.add_typer(template_app, name="template")


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
    settings = load_settings()

    async def _run() -> None:
        async with open_database(settings) as db, db.session() as session:
            owner = None
            if enterprise:
                owner = (await EnterpriseService(session).get_by_credit_code(enterprise)).id
            service = IdentifierService(session, seckeys=seckeys_for(settings))
            row = await service.create_prefix(
                Principal.system(), prefix, enterprise_id=owner, admin_password=admin_password
            )
        console.print(f"created {row.kind} prefix {row.prefix}", highlight=False)
        if admin_password is not None:
            console.print(f"Handle clients log in as 300:{row.prefix}/ADMIN", highlight=False)

    run(_run())


@prefix_app.command("reset-key")
def prefix_reset_key(
    prefix: str = typer.Argument(..., help="The prefix, e.g. 88.118.8."),
    admin_password: str = typer.Option(
        ..., "--admin-password", prompt=True, hide_input=True, help="The new secret key."
    ),
) -> None:
    """Set the secret key of PREFIX/ADMIN, stored sealed (needed for Handle wire logins)."""
    settings = load_settings()

    async def _run() -> None:
        async with open_database(settings) as db, db.session() as session:
            service = IdentifierService(session, seckeys=seckeys_for(settings))
            await service.reset_admin_key(Principal.system(), prefix, admin_password)
        console.print(f"secret key of 300:{prefix}/ADMIN set", highlight=False)

    run(_run())


@prefix_app.command("list")
def prefix_list(
    applications: bool = typer.Option(
        False, "--applications", help="List prefix applications instead of prefixes."
    ),
) -> None:
    """List prefixes, or prefix applications with their review state."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            if applications:
                rows = await ApplicationService(session).all(Principal.system())
                table = Table("id", "prefix", "enterprise", "class", "status", "reason",
                              title="prefix applications")  # fmt: skip
                for a in rows:
                    table.add_row(str(a.id), a.prefix, str(a.enterprise_id), a.industry_class,
                                  a.status, a.reason or "")  # fmt: skip
                console.print(table)
                return
            prefixes = await IdentifierService(session).list_prefixes(Principal.system())
        table = Table("prefix", "kind", "enterprise", "status", "created", title="prefixes")
        for row in prefixes:
            owner = str(row.enterprise_id) if row.enterprise_id else ""
            table.add_row(row.prefix, row.kind, owner, row.status, f"{row.created_at:%Y-%m-%d}")
        console.print(table)

    run(_run())


@prefix_app.command("apply")
def prefix_apply(
    enterprise: str = typer.Option(..., "--enterprise", help="Credit code of the applicant."),
    contact: str = typer.Option(..., "--contact", help="Contact person and phone or e-mail."),
    industry_class: str = typer.Option(
        ..., "--industry-class", help="GB/T 4754-2017 class, e.g. 3435."
    ),
    prefix: str | None = typer.Option(
        None, "--prefix", help="The prefix wanted (default: the next free one)."
    ),
) -> None:
    """Apply for an enterprise prefix (it waits for an auditor's review)."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            owner = await EnterpriseService(session).get_by_credit_code(enterprise)
            row = await ApplicationService(session).apply(
                Principal.system(), owner.id, contact=contact, industry_class=industry_class,
                prefix=prefix,
            )  # fmt: skip
        console.print(f"application {row.id}: prefix {row.prefix} for {owner.name}, pending review",
                      highlight=False)  # fmt: skip

    run(_run())


@prefix_app.command("approve")
def prefix_approve(
    application_id: int = typer.Argument(..., help="The application's id."),
) -> None:
    """Approve an application: the prefix becomes active, owned by the enterprise."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            row = await ApplicationService(session).approve(Principal.system(), application_id)
        console.print(f"approved: prefix {row.prefix} is active", highlight=False)

    run(_run())


@prefix_app.command("reject")
def prefix_reject(
    application_id: int = typer.Argument(..., help="The application's id."),
    reason: str = typer.Option(..., "--reason", help="Why (the applicant sees it)."),
) -> None:
    """Reject an application with a reason."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            row = await ApplicationService(session).reject(
                Principal.system(), application_id, reason
            )
        console.print(f"rejected application {row.id} ({row.prefix})", highlight=False)

    run(_run())


@prefix_app.command("revoke")
def prefix_revoke(
    prefix: str = typer.Argument(..., help="The enterprise prefix, e.g. 88.118.8."),
) -> None:
    """Revoke a prefix for good (unfiled from the node above when this node has joined one)."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            row = await ApplicationService(session).set_status(
                Principal.system(), prefix, "revoked"
            )
        console.print(f"revoked: prefix {row.prefix}", highlight=False)

    run(_run())


@template_app.command("list")
def template_list(
    prefix: str | None = typer.Option(None, "--prefix", help="Only this prefix's templates."),
) -> None:
    """List template versions."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            rows = await TemplateService(session).all(prefix)
        table = Table("prefix", "version", "name", "GB/T 4754", "items", title="templates")
        for t in rows:
            table.add_row(t.prefix, t.version, t.name, t.industry_class, str(len(t.items)))
        console.print(table)

    run(_run())


@template_app.command("show")
def template_show(
    version: str = typer.Argument(..., help="The template version, e.g. elevator-1.0."),
    prefix: str = typer.Option(..., "--prefix", help="The prefix that holds it."),
) -> None:
    """Show a template's items."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            row = await TemplateService(session).get(prefix, version)
        title = f"{row.prefix} {row.version}: {row.name} (GB/T 4754 {row.industry_class})"
        table = Table("idType", "name", "required", "type", "length", "options", title=title)
        for item in row.items:
            meta = item.get("metadata", {})
            table.add_row(
                item["idType"],
                item.get("name", ""),
                "yes" if item.get("required") else "",
                meta.get("type", "string"),
                f"{meta.get('minLength', 0)}..{meta.get('maxLength', '')}",
                ", ".join(meta.get("options", [])),
            )
        console.print(table)

    run(_run())


@template_app.command("import")
def template_import(
    file: Path | None = typer.Argument(None, help="A template in SNMS JSON (omit with --builtin)."),
    prefix: str = typer.Option(..., "--prefix", help="The prefix that will hold it."),
    builtin: bool = typer.Option(
        False, "--builtin", help="Install the shipped elevator, optical cable and fabric templates."
    ),
) -> None:
    """Import a template version from a JSON file, or install the shipped ones."""
    raw: object = None
    if file is not None and not builtin:
        try:
            raw = orjson.loads(file.read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            fail(f"cannot read {file}: {exc}")
        if not isinstance(raw, dict):
            fail(f"{file} must hold one template object")

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            templates = TemplateService(session)
            if builtin:
                rows = await templates.install_builtins(Principal.system(), prefix)
            elif isinstance(raw, dict):
                rows = [await templates.save(Principal.system(), prefix, parse_spec(raw))]
            else:
                fail("give a FILE or --builtin")
        for row in rows:
            console.print(f"template {row.version} under {row.prefix}", highlight=False)

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

    settings = load_settings()

    async def _run() -> None:
        async with open_database(settings) as db, db.session() as session:
            service = IdentifierService(session, seckeys=seckeys_for(settings))
            result = await service.put(
                Principal.system(), parse_handle(handle), values, overwrite=overwrite
            )
        console.print(
            f"{'registered' if result.created else 'replaced'} {result.handle}", highlight=False
        )

    run(_run())


def _print_values(handle: str, values: list[HandleValue], *, as_json: bool) -> None:
    shown = [value_to_json(v) for v in values]
    if as_json:
        body = {"responseCode": 1, "handle": handle, "values": shown}
        typer.echo(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table("index", "type", "data", "ttl", "permissions", title=handle)
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


def _type_matches(type_: str, wanted: list[str]) -> bool:
    """Handle type filters: ``URL`` matches ``URL`` and ``URL.mirror``."""
    return any(type_ == t or type_.startswith(t + ".") for t in wanted)


def _server_address(text: str | None, default_port: int) -> tuple[str, int]:
    if not text:
        return "127.0.0.1", default_port
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        fail(f"--server takes HOST:PORT, e.g. 127.0.0.1:2641, not {text!r}")
    return host.strip("[]"), int(port)


async def _resolve_wire(
    handle: str, transport: Literal["udp", "tcp"], address: tuple[str, int], wait: float,
    indexes: tuple[int, ...], types: tuple[str, ...],
) -> list[HandleValue]:  # fmt: skip
    try:
        async with HandleClient(*address, transport=transport, timeout=wait) as client:
            reply = await client.resolve(handle, indexes=indexes, types=types)
    except HandleResponseError as exc:
        fail(f"{address[0]}:{address[1]} answered {exc}")
    except HandleWireError as exc:
        fail(str(exc))
    return list(reply.values)


@app.command("resolve")
def resolve(
    handle: str = typer.Argument(..., help="PREFIX/SUFFIX."),
    as_json: bool = typer.Option(False, "--json", help="Print the Handle REST JSON."),
    wire: str | None = typer.Option(
        None, "--wire", help="Ask a Handle server over udp or tcp instead of the database."
    ),
    server: str | None = typer.Option(
        None,
        "--server",
        help="HOST:PORT of the Handle server (default 127.0.0.1:TAIHU_HANDLE_PORT).",
    ),
    index: list[int] = typer.Option([], "--index", help="Only values at this index (repeatable)."),
    type_: list[str] = typer.Option([], "--type", help="Only values of this type (repeatable)."),
    timeout: float | None = typer.Option(
        None,
        "--timeout",
        min=0.1,
        help="Seconds to wait for each answer over the wire (default 5; with --recursive "
        "TAIHU_NODE_TIMEOUT).",
    ),
    recursive: bool = typer.Option(
        False, "--recursive", help="Over the wire from --upstream, following referrals."
    ),
    upstream: str | None = typer.Option(
        None, "--upstream", help="HOST:PORT to start --recursive from (TAIHU_NODE_UPSTREAM)."
    ),
) -> None:
    """Show the values of a handle: from the database as its admin sees them, or over the wire."""
    settings = load_settings()
    if wire is not None and wire not in {"udp", "tcp"}:
        fail(f"--wire takes udp or tcp, not {wire!r}")
    if recursive:
        start = upstream or settings.node.upstream
        if not start:
            fail("--recursive needs --upstream HOST:PORT (or TAIHU_NODE_UPSTREAM)")
        reply = resolve_recursively(
            handle, start, transport="tcp" if wire == "tcp" else "udp",
            indexes=tuple(index), types=tuple(type_), timeout=timeout,
        )  # fmt: skip
        _print_values(reply.handle, list(reply.values), as_json=as_json)
        return

    async def _run() -> None:
        parsed = parse_handle(handle)
        if wire is not None:
            address = _server_address(server, settings.handle.port)
            transport: Literal["udp", "tcp"] = "tcp" if wire == "tcp" else "udp"
            values = await _resolve_wire(
                parsed.text, transport, address, timeout or 5.0, tuple(index), tuple(type_)
            )
        else:
            async with open_database(settings) as db, db.session() as session:
                values = await IdentifierService(session).values(parsed)
            if index or type_:
                values = [v for v in values if v.index in index or _type_matches(v.type, type_)]
        _print_values(parsed.text, values, as_json=as_json)

    run(_run())


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., help="A .csv (UTF-8) or .xlsx file, one identifier per row."),
    prefix: str = typer.Option(..., "--prefix", help="The prefix to register under."),
    template: str | None = typer.Option(
        None, "--template", help="Template version for rows without a templateVersion column."
    ),
) -> None:
    """Register identifiers from a file; rows with errors are reported and not written."""

    async def _run() -> None:
        rows = read_table(file)
        settings = load_settings()
        async with open_database(settings) as db:
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task(f"importing {file.name}", total=len(rows))
                report = await import_rows(
                    db, Principal.system(), prefix, rows, template=template,
                    progress=lambda n: progress.advance(task, n), source=file.name,
                    seckeys=seckeys_for(settings),
                )  # fmt: skip
        console.print(
            f"{report.rows} rows: {report.imported} registered, {report.unchanged} unchanged, "
            f"{len(report.errors or [])} with errors",
            highlight=False,
        )
        if report.errors:
            table = Table("row", "column", "reason", title="errors (these rows were not written)")
            for error in report.errors:
                table.add_row(str(error.row), error.column, error.reason)
            console.print(table)
            raise typer.Exit(1)

    run(_run())
