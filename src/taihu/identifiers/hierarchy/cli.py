"""`taihu node …` commands: this node's place in the hierarchy, filing with the node above."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress
from rich.table import Table

from taihu.accounts import Principal
from taihu.core import InvalidInput
from taihu.core.commands import console, fail, load_settings, open_database, run
from taihu.identifiers.hierarchy.service import (
    FilingResult,
    HierarchyService,
    run_filings,
)
from taihu.identifiers.registration import seckeys_for
from taihu.identifiers.resolution import (
    RecursiveResolver,
    ResolutionFailed,
    WireTransport,
    parse_hostport,
)
from taihu.identifiers.server import published_address, running_port, site_for
from taihu.identifiers.wire import ResolutionResponse, SiteInfo, encode_site
from taihu.settings import Settings

__all__ = ["app", "resolve_recursively", "show_site"]

app = typer.Typer(help="Node hierarchy: role, upstream node, filing (备案).", no_args_is_help=True)


def _settings(secret_file: Path | None = None) -> Settings:
    settings = load_settings()
    if secret_file is not None:
        if not secret_file.is_file():
            fail(f"no secret key file {secret_file}")
        settings.node.secret_file = secret_file
    return settings


def _advertised(settings: Settings, advertise: str | None) -> str:
    """This node's Handle address as others reach it: the option, else the listener's.

    The listener's port is the one the server running on this data directory bound, else the
    configured one.
    """
    if advertise:
        return advertise
    host = published_address(settings)
    port = running_port(settings.data_dir) or settings.handle.port
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _show_results(results: list[FilingResult]) -> None:
    table = Table("prefix", "action", "state", "error", title="filings sent upstream")
    for result in results:
        table.add_row(result.prefix, result.action, result.state, result.error or "")
    console.print(table)
    failed = [r for r in results if r.state != "done"]
    if failed:
        fail(f"{len(failed)} of {len(results)} filings failed; they are retried by the server")


async def _send(settings: Settings, queued: list[str]) -> list[FilingResult]:
    """File what is queued and show each queued prefix's outcome.

    A server running on this data directory files in the background too: what it finished
    before this command got to it is shown with the state it recorded.
    """
    with Progress(console=console, transient=True) as progress:
        progress.add_task(f"filing {len(queued)} prefixes upstream", total=None)
        async with open_database(settings) as db:
            results = await run_filings(db, settings.node, everything=True)
            sent = {result.prefix for result in results}
            async with db.session() as session:
                for row in await HierarchyService(session).filings():
                    if row.prefix in queued and row.prefix not in sent:
                        results.append(FilingResult(row.prefix, row.action, row.state, row.error))
    return sorted(results, key=lambda result: result.prefix)


@app.command("join")
def join(
    upstream: str = typer.Option(..., "--upstream", help="HOST:PORT of the node above."),
    credentials: str = typer.Option(
        ..., "--credentials", help="INDEX:HANDLE this node files as, e.g. 300:0.NA/88.118."
    ),
    secret_file: Path | None = typer.Option(
        None, "--secret-file", help="File with the secret key (else TAIHU_NODE_SECRET[_FILE])."
    ),
    advertise: str | None = typer.Option(
        None, "--advertise", help="HOST:PORT of this node's Handle listener, as filed upstream."
    ),
) -> None:
    """Join the node above and file every prefix served here with it."""
    settings = _settings(secret_file)
    if settings.node.role == "top-level":
        fail("a top-level node files with nobody above it (TAIHU_NODE_ROLE=top-level)")
    address = _advertised(settings, advertise)

    async def _run() -> None:
        async with open_database(settings) as db, db.session() as session:
            queued = await HierarchyService(session).join(
                Principal.system(), upstream, credentials, address
            )
        console.print(
            f"joined {upstream} as {credentials}, advertising {address}; "
            f"{len(queued)} prefixes to file",
            highlight=False,
        )
        _show_results(await _send(settings, queued))

    run(_run())


@app.command("sync")
def sync(
    secret_file: Path | None = typer.Option(
        None, "--secret-file", help="File with the secret key (else TAIHU_NODE_SECRET[_FILE])."
    ),
) -> None:
    """File every prefix again (revoked ones unfiled) and show what the node above answered."""
    settings = _settings(secret_file)

    async def _run() -> None:
        async with open_database(settings) as db, db.session() as session:
            service = HierarchyService(session)
            if await service.link() is None:
                fail("this node has not joined a node above: run `taihu node join` first")
            queued = await service.resync(Principal.system())
        _show_results(await _send(settings, queued))

    run(_run())


@app.command("status")
def status() -> None:
    """Show the role, the node above and the upstream state of every prefix."""
    settings = load_settings()

    async def _run() -> None:
        async with open_database(settings) as db, db.session() as session:
            service = HierarchyService(session)
            link = await service.link()
            filings = await service.filings()
        console.print(f"role: {settings.node.role}", highlight=False)
        if link is None:
            console.print("upstream: none (not joined)", highlight=False)
            return
        console.print(
            f"upstream: {link.host}:{link.port} as {link.credential}, advertising "
            f"{link.advertise}, joined {link.joined_at:%Y-%m-%d %H:%M}Z",
            highlight=False,
        )
        table = Table("prefix", "action", "state", "attempts", "next try", "error")
        for row in filings:
            upcoming = "" if row.state == "done" else f"{row.next_try_at:%H:%M:%S}Z"
            table.add_row(row.prefix, row.action, row.state, str(row.attempts), upcoming,
                          row.error or "")  # fmt: skip
        console.print(table)

    run(_run())


def show_site(site: SiteInfo) -> None:
    """Print an HS_SITE: its servers and interfaces, and its encoding."""
    console.print(
        f"HS_SITE version {site.version}, protocol {site.protocol[0]}.{site.protocol[1]}, "
        f"serial {site.serial}",
        highlight=False,
    )
    table = Table("server", "address", "service", "transport", "port")
    for server in site.servers:
        for interface in server.interfaces:
            table.add_row(str(server.server_id), server.address, interface.service.name,
                          interface.transport.name, str(interface.port))  # fmt: skip
    console.print(table)
    console.print(f"encoded: {encode_site(site).hex()}", highlight=False, soft_wrap=True)


@app.command("site")
def site(
    advertise: str | None = typer.Option(
        None, "--advertise", help="HOST:PORT to describe (default: as joined, else the listener)."
    ),
) -> None:
    """Show this node's HS_SITE, as filed with the node above."""
    settings = load_settings()

    async def _run() -> None:
        address = advertise
        if address is None:
            async with open_database(settings) as db, db.session() as session:
                link = await HierarchyService(session).link()
            address = link.advertise if link is not None else _advertised(settings, None)
        try:
            show_site(site_for(*parse_hostport(address)))
        except ValueError as exc:
            raise InvalidInput(str(exc), code="invalid_address") from exc

    run(_run())


@app.command("admit")
def admit(
    prefix: str = typer.Argument(..., help="The node prefix of the secondary node, e.g. 88.118."),
    secret_file: Path = typer.Option(
        ..., "--secret-file", help="File with the secret key the secondary node files with."
    ),
) -> None:
    """Top-level: create 0.NA/PREFIX so the secondary node can file as 300:0.NA/PREFIX."""
    settings = load_settings()
    if settings.node.role != "top-level":
        fail("`taihu node admit` runs on a top-level node (set TAIHU_NODE_ROLE=top-level)")
    if not secret_file.is_file():
        fail(f"no secret key file {secret_file}")
    secret = secret_file.read_text(encoding="utf-8").strip()

    async def _run() -> None:
        async with open_database(settings) as db, db.session() as session:
            service = HierarchyService(session, seckeys=seckeys_for(settings))
            handle = await service.admit(Principal.system(), prefix, secret)
        console.print(
            f"created {handle.text}; the node files as 300:{handle.text}", highlight=False
        )

    run(_run())


def resolve_recursively(
    handle: str,
    upstream: str,
    *,
    transport: WireTransport,
    indexes: tuple[int, ...] = (),
    types: tuple[str, ...] = (),
    timeout: float | None = None,
) -> ResolutionResponse:
    """Resolve over the wire from ``upstream``, following referrals (``taihu id resolve``).

    ``timeout`` bounds each node's answer; ``None`` takes the node settings' timeout.
    """
    settings = load_settings()
    try:
        first = parse_hostport(upstream)
    except ValueError as exc:
        fail(str(exc))
    resolver = RecursiveResolver(
        first,
        timeout=settings.node.timeout if timeout is None else timeout,
        max_referrals=settings.node.max_referrals,
        cache_size=0,
    )

    async def _run() -> ResolutionResponse:
        try:
            return await resolver.resolve(handle, indexes=indexes, types=types, transport=transport)
        except ResolutionFailed as exc:
            fail(f"{exc.message} (response code {int(exc.code)})")

    return run(_run())
