"""`taihu device …` commands."""

from __future__ import annotations

import typer
from rich.table import Table

from taihu.accounts import Principal
from taihu.core.commands import console, load_settings, open_database, run
from taihu.devices.children import ChildDevices
from taihu.devices.models import Device
from taihu.devices.service import DeviceService
from taihu.devices.sparkplug.cli import app as sparkplug_app  # mounted as `taihu sparkplug`
from taihu.enterprises import EnterpriseService

__all__ = ["app", "sparkplug_app"]

_BATCH = 500

app = typer.Typer(help="Devices, gateways and their access tokens.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Argument(
        ..., help="Name of the device, unique among its enterprise's devices outside gateways."
    ),
    enterprise: str = typer.Option(..., "--enterprise", help="Credit code of the enterprise."),
    profile: str | None = typer.Option(None, "--profile", help="Device profile name."),
    gateway: bool = typer.Option(False, "--gateway", help="The device is a gateway."),
) -> None:
    """Register a device; its access token is printed as the last line."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            owner = await EnterpriseService(session).get_by_credit_code(enterprise)
            issued = await DeviceService(session).create(
                Principal.system(), owner.id, name, profile=profile, gateway=gateway
            )
        device = issued.device
        console.print(
            f"created {device.kind} {device.id}: {device.name} of {owner.name}", highlight=False
        )
        # The token alone on the last line, so scripts can take it with `tail -n 1`.
        print(issued.token)  # noqa: T201

    run(_run())


@app.command("list")
def list_(
    enterprise: str | None = typer.Option(None, "--enterprise", help="Credit code."),
    search: str | None = typer.Option(None, "--search", "-q", help="Name part."),
) -> None:
    """List devices."""

    async def _run() -> None:
        rows: list[Device] = []
        async with open_database(load_settings()) as db, db.session() as session:
            owner = None
            if enterprise:
                owner = (await EnterpriseService(session).get_by_credit_code(enterprise)).id
            registry = DeviceService(session)
            while True:
                batch, total = await registry.list_devices(
                    Principal.system(), enterprise_id=owner, search=search, limit=_BATCH,
                    offset=len(rows),
                )  # fmt: skip
                rows.extend(batch)
                if len(batch) < _BATCH:
                    break
        table = Table(
            "id", "enterprise", "name", "kind", "gateway", "created", title=f"{total} devices"
        )
        for d in rows:
            table.add_row(
                str(d.id), str(d.enterprise_id), d.name, d.kind,
                "" if d.gateway_id is None else str(d.gateway_id),
                f"{d.created_at:%Y-%m-%d %H:%M}",
            )  # fmt: skip
        console.print(table)

    run(_run())


@app.command("show")
def show(device_id: int = typer.Argument(..., help="Device id.")) -> None:
    """Show a device, its profile and attributes."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            registry = DeviceService(session)
            device = await registry.get(Principal.system(), device_id)
            profile = await registry.profile(device.profile_id)
            attributes = await registry.attributes(device.id)
        console.print(f"[bold]{device.name}[/] ({device.kind} {device.id})", highlight=False)
        console.print(f"enterprise {device.enterprise_id}, profile {profile.name}", highlight=False)
        if device.gateway_id:
            console.print(f"behind gateway {device.gateway_id}", highlight=False)
        table = Table("scope", "key", "value", title="attributes")
        for a in attributes:
            table.add_row(a.scope, a.key, repr(a.value))
        console.print(table)

    run(_run())


@app.command("move")
def move(
    device_id: int = typer.Argument(..., help="Device id."),
    gateway: int | None = typer.Option(
        None, "--gateway", help="Id of a gateway of the device's enterprise to move it under."
    ),
    detach: bool = typer.Option(False, "--detach", help="Take the device from its gateway."),
) -> None:
    """Move a device under a gateway, or detach it from its gateway (audited)."""
    if (gateway is None) == (not detach):
        console.print("give either --gateway ID or --detach", highlight=False)
        raise typer.Exit(2)

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            device = await ChildDevices(session).move(Principal.system(), device_id, gateway)
        where = f"under gateway {device.gateway_id}" if device.gateway_id else "under no gateway"
        console.print(f"device {device.id} ({device.name}) is {where}", highlight=False)

    run(_run())


@app.command("token-rotate")
def token_rotate(device_id: int = typer.Argument(..., help="Device id.")) -> None:
    """Revoke a device's tokens and print a new one as the last line."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            token = await DeviceService(session).rotate_token(Principal.system(), device_id)
        console.print(f"device {device_id}: previous tokens revoked", highlight=False)
        print(token)  # noqa: T201

    run(_run())


@app.command("profile-create")
def profile_create(
    name: str = typer.Argument(..., help="Profile name."),
    key: list[str] = typer.Option(
        [], "--key", help="Telemetry key as KEY[:TYPE[:UNIT]], repeatable (type: double…)."
    ),
    retention_days: int = typer.Option(365, "--retention-days", help="Days raw points are kept."),
    rate_limits: str = typer.Option("", "--rate-limits", help="capacity:seconds,… per device."),
    data_point_limits: str = typer.Option(
        "", "--data-point-limits", help="Telemetry data points, capacity:seconds,… per device."
    ),
    inactivity_timeout: int | None = typer.Option(
        None,
        "--inactivity-timeout",
        help="Seconds without data before inactive (default: the setting).",
    ),
) -> None:
    """Define a device profile."""

    async def _run() -> None:
        keys = []
        for spec in key:
            k, _, rest = spec.partition(":")
            kind, _, unit = rest.partition(":")
            keys.append({"key": k, "type": kind or "double", "unit": unit})
        async with open_database(load_settings()) as db, db.session() as session:
            profile = await DeviceService(session).create_profile(
                Principal.system(), name, telemetry_keys=keys, retention_days=retention_days,
                rate_limits=rate_limits, data_point_limits=data_point_limits,
                inactivity_timeout=inactivity_timeout,
            )  # fmt: skip
        console.print(f"created device profile {profile.id}: {profile.name}", highlight=False)

    run(_run())


@app.command("profile-timeout")
def profile_timeout(
    name: str = typer.Argument(..., help="Profile name."),
    seconds: int | None = typer.Argument(
        None, help="Seconds without data before inactive; leave out for the setting's value."
    ),
) -> None:
    """Set (or with no seconds, clear) a device profile's inactivity timeout."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            registry = DeviceService(session)
            profile = await registry.profile_named(Principal.system(), name)
            await registry.set_inactivity_timeout(Principal.system(), profile.id, seconds)
        shown = f"{seconds} s" if seconds is not None else "the setting's value"
        console.print(f"device profile {name}: inactivity timeout {shown}", highlight=False)

    run(_run())
