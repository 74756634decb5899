"""`taihu demo`: a fresh demo database with the demo district, served on the embedded default."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from taihu.cli.server import bind_handle_listeners, bind_mqtt, serve_http
from taihu.core import upgrade
from taihu.core.commands import console, open_database, run
from taihu.core.logs import configure_logging
from taihu.demo import DEMO_USERS, SimulatedDevice, demo_steps, seed_demo, simulate
from taihu.identifiers import seckeys_for
from taihu.settings import DatabaseSettings, HttpSettings, MqttSettings, Settings

__all__ = ["demo"]

_DB_FILES = ("taihu.sqlite3", "taihu.sqlite3-wal", "taihu.sqlite3-shm")


def demo(
    data_dir: Path = typer.Option(
        Path("var/demo"), "--data-dir", help="Where the demo keeps its state."
    ),
    port: int = typer.Option(8000, "--port", help="HTTP port; the next free one is taken if busy."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    mqtt_port: int = typer.Option(
        1883, "--mqtt-port", help="MQTT port; the next free one is taken if busy."
    ),
    no_serve: bool = typer.Option(False, "--no-serve", help="Prepare the data and exit."),
) -> None:
    """Start the platform with a fresh demo database (SQLite) and demo data."""
    settings = Settings(
        env="dev",
        data_dir=data_dir,
        database=DatabaseSettings(url=None),
        http=HttpSettings(host=host, port=port, workers=1),
        mqtt=MqttSettings(host=host, port=mqtt_port),
    )
    configure_logging(settings.log)
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in _DB_FILES:
        (data_dir / name).unlink(missing_ok=True)

    async def _prepare() -> list[SimulatedDevice]:
        async with open_database(settings, require_current=False) as db:
            state = await upgrade(db)
            console.print(
                f"demo database {settings.database_url} at schema {state.current_label}",
                highlight=False,
            )
            with Progress(
                TextColumn("[bold]demo data[/]"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.description}"), console=console, transient=True,
            ) as progress:  # fmt: skip
                task = progress.add_task("", total=demo_steps())
                return await seed_demo(
                    db, settings.security, seckeys=seckeys_for(settings),
                    progress=lambda name: progress.update(task, advance=1, description=name),
                )  # fmt: skip

    devices = run(_prepare())
    table = Table("user", "password", "role", title="Demo sign-in (local demo only)")
    for user in DEMO_USERS:
        table.add_row(user.username, user.password, user.role.value)
    console.print(table)
    if not no_serve:
        mqtt_socket = bind_mqtt(settings, on_busy="next")
        mqtt_host, mqtt_port = mqtt_socket.getsockname()[:2]
        # The simulated devices are MQTT clients of their own, as real ones would be.
        threading.Thread(
            target=asyncio.run, args=(simulate(mqtt_host, mqtt_port, devices, data_dir=data_dir),),
            name="taihu-demo-devices", daemon=True,
        ).start()  # fmt: skip
        direct = [d for d in devices if d.kind != "edge"]
        console.print(
            f"{len(direct)} simulated devices publish telemetry over MQTT; edge gateway "
            "边缘网关-1 forwards a simulated Modbus power meter and OPC UA machine",
            highlight=False,
        )
        handle_sockets = bind_handle_listeners(settings, on_busy="next")
        serve_http(settings, on_busy="next", mqtt_socket=mqtt_socket, handle_sockets=handle_sockets)
