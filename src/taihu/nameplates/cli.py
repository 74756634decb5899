"""`taihu nameplate …` commands: a device's identifier and whether its state is public."""

from __future__ import annotations

import typer

from taihu.accounts import Principal
from taihu.core.commands import console, load_settings, open_database, run
from taihu.devices import DeviceService
from taihu.identifiers import IdentifierService, seckeys_for
from taihu.nameplates.service import NameplateService, public_path
from taihu.settings import Settings

__all__ = ["app"]

app = typer.Typer(
    help="Devices linked to their Handle identifiers, and their public state.",
    no_args_is_help=True,
)


def _base(settings: Settings, base_url: str | None) -> str:
    # The console's address as e-mail links it, else the HTTP listener's own.
    if base_url:
        return base_url
    return settings.notices.console_url or f"http://{settings.http.host}:{settings.http.port}"


@app.command("link")
def link(
    device_id: int = typer.Argument(..., help="Device id."),
    identifier: str = typer.Argument(..., help="A handle under a prefix of its enterprise."),
    base_url: str | None = typer.Option(
        None,
        "--base-url",
        help="Address of the platform the link points at (default: "
        "TAIHU_NOTICES_CONSOLE_URL, else the HTTP listener).",
    ),
) -> None:
    """Link a device to its identifier; the identifier's record gets a URL to the device."""

    async def _run() -> None:
        settings = load_settings()
        async with open_database(settings) as db, db.session() as session:
            identifiers = IdentifierService(session, seckeys=seckeys_for(settings))
            await NameplateService(session, identifiers).link(
                Principal.system(), device_id, identifier, _base(settings, base_url)
            )
        url = f"{_base(settings, base_url).rstrip('/')}{public_path(device_id)}"
        console.print(
            f"device {device_id} carries {identifier}; it links to {url}", highlight=False
        )

    run(_run())


@app.command("unlink")
def unlink(device_id: int = typer.Argument(..., help="Device id.")) -> None:
    """Take a device's identifier away (and the link out of the identifier's record)."""

    async def _run() -> None:
        settings = load_settings()
        async with open_database(settings) as db, db.session() as session:
            identifiers = IdentifierService(session, seckeys=seckeys_for(settings))
            await NameplateService(session, identifiers).unlink(Principal.system(), device_id)
        console.print(f"device {device_id} carries no identifier", highlight=False)

    run(_run())


@app.command("public")
def public(
    device_id: int = typer.Argument(..., help="Device id."),
    on: bool = typer.Option(..., "--on/--off", help="Show its latest telemetry to anyone."),
) -> None:
    """Share (or stop sharing) a device's state with whoever resolves its identifier."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            await DeviceService(session).set_public_state(Principal.system(), device_id, on)
        console.print(f"device {device_id}: state {'public' if on else 'private'}", highlight=False)

    run(_run())
