"""`taihu alarm …` commands: rules as data, and the alarm list."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table

from taihu.accounts import Principal
from taihu.alarms.service import AlarmFilter, AlarmService
from taihu.core import N_, InvalidInput
from taihu.core.commands import console, load_settings, open_database, run
from taihu.devices import DeviceService

__all__ = ["app"]

app = typer.Typer(help="Alarm rules on device data, and alarms.", no_args_is_help=True)


def _spec(text: str) -> dict[str, Any]:
    try:
        spec = json.loads(text)
    except json.JSONDecodeError:
        spec = None
    if not isinstance(spec, dict):
        raise InvalidInput(
            N_('a rule spec is a JSON object such as {"op": ">", "value": 80}'), code="bad_rule"
        )
    return spec


@app.command("rule-create")
def rule_create(
    name: str = typer.Argument(..., help="Rule name, unique on its profile or device."),
    kind: str = typer.Option(..., "--kind", help="threshold, duration, repeating or no_data."),
    spec: str = typer.Option(..., "--spec", help='JSON, e.g. \'{"op": ">", "value": 80}\'.'),
    key: str = typer.Option("", "--key", help="Telemetry key (empty: any key, no_data only)."),
    severity: str = typer.Option("major", "--severity", help="critical, major, minor, …"),
    profile: str | None = typer.Option(None, "--profile", help="Device profile name."),
    device: int | None = typer.Option(None, "--device", help="Device id (its own rule)."),
) -> None:
    """Create an alarm rule on a device profile or on one device."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            profile_id = None
            if profile is not None:
                profile_id = (
                    await DeviceService(session).profile_named(Principal.system(), profile)
                ).id
            rule = await AlarmService(session).create_rule(
                Principal.system(),
                name=name,
                kind=kind,
                key=key,
                severity=severity,
                spec=_spec(spec),
                profile_id=profile_id,
                device_id=device,
            )
        console.print(f"created rule {rule.id}: {rule.name}", highlight=False)

    run(_run())


@app.command("rule-set")
def rule_set(
    rule_id: int = typer.Argument(..., help="Rule id."),
    spec: str | None = typer.Option(None, "--spec", help="New spec (JSON)."),
    severity: str | None = typer.Option(None, "--severity", help="New severity."),
    enabled: bool | None = typer.Option(None, "--enabled/--disabled", help="Turn it on or off."),
) -> None:
    """Change an alarm rule."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            rule = await AlarmService(session).update_rule(
                Principal.system(),
                rule_id,
                spec=_spec(spec) if spec else None,
                severity=severity,
                enabled=enabled,
            )
        console.print(f"rule {rule.id}: {rule.severity} {json.dumps(rule.spec)}", highlight=False)

    run(_run())


@app.command("rule-list")
def rule_list(
    profile: str | None = typer.Option(None, "--profile", help="Device profile name."),
    device: int | None = typer.Option(None, "--device", help="Device id (its own rules)."),
) -> None:
    """List alarm rules (every profile's, one profile's or one device's own)."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            profile_id = None
            if profile is not None:
                profile_id = (
                    await DeviceService(session).profile_named(Principal.system(), profile)
                ).id
            rules = await AlarmService(session).rules(
                Principal.system(), profile_id=profile_id, device_id=device
            )
        table = Table("id", "name", "kind", "key", "severity", "spec", "on", title="alarm rules")
        for r in rules:
            table.add_row(
                str(r.id),
                r.name,
                r.kind,
                r.key,
                r.severity,
                json.dumps(r.spec),
                "yes" if r.enabled else "no",
            )
        console.print(table)

    run(_run())


@app.command("list")
def list_(
    status: str | None = typer.Option(None, "--status", help="ACTIVE, CLEARED, ACTIVE_UNACK, …"),
    device: int | None = typer.Option(None, "--device", help="Device id."),
) -> None:
    """List the latest 100 alarms."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            rows, total = await AlarmService(session).alarms(
                Principal.system(), AlarmFilter(device_id=device, status=status, limit=100)
            )
        table = Table(
            "id",
            "device",
            "name",
            "severity",
            "status",
            "started",
            "count",
            title=f"{total} alarms",
        )
        for a in rows:
            table.add_row(
                str(a.id),
                str(a.device_id),
                a.name,
                a.severity,
                a.status,
                f"{a.started_at:%Y-%m-%d %H:%M:%S}",
                str(a.count),
            )
        console.print(table)

    run(_run())
