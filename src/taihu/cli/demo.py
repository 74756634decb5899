"""`taihu demo`: a fresh demo database with the demo district, served on the embedded default."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from taihu.cli.server import bind_handle_listeners, bind_http, bind_mqtt, serve_http
from taihu.core import upgrade
from taihu.core.commands import console, open_database, run
from taihu.core.logs import configure_logging
from taihu.demo import (
    DEMO_USERS,
    SimulatedDevice,
    demo_steps,
    demo_templates,
    seed_demo,
    simulate,
)
from taihu.identifiers import seckeys_for
from taihu.settings import DatabaseSettings, HttpSettings, MqttSettings, Settings

__all__ = ["demo"]

_DB_FILES = ("taihu.sqlite3", "taihu.sqlite3-wal", "taihu.sqlite3-shm")
_SETUP_SECONDS = 60  # measured: docs/benchmarks.md, "Demo set-up"
_LOG_FILE = "demo.log"


def _quiet_terminal(data_dir: Path) -> Path:
    """Keep the terminal for what a newcomer needs; every log line goes to a file instead.

    A line per request (taihu.http) and libraries' start-up notes (asyncua's "permissive
    manager") bury the sign-in table and the ports; warnings and errors still show.
    """
    root = logging.getLogger()
    for handler in root.handlers:
        handler.setLevel(logging.WARNING)
    path = data_dir / _LOG_FILE
    to_file = logging.FileHandler(path, mode="w", encoding="utf-8")
    if root.handlers:
        to_file.setFormatter(root.handlers[0].formatter)
    root.addHandler(to_file)
    return path


def _console_url(settings: Settings, port: int) -> str:
    """Where the demo's console is reached (TAIHU_NOTICES_CONSOLE_URL when set)."""
    if settings.notices.console_url:
        return settings.notices.console_url.rstrip("/")
    host = settings.http.host
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - naming the wildcard, not binding it
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def demo(
    data_dir: Path = typer.Option(
        Path("var/demo"), "--data-dir", help="Where the demo keeps its state."
    ),
    port: int | None = typer.Option(
        None, "--port", help="HTTP port (default TAIHU_HTTP_PORT, 8000); next free one if busy."
    ),
    host: str | None = typer.Option(
        None, "--host", help="Address to bind (default TAIHU_HTTP_HOST, 127.0.0.1)."
    ),
    mqtt_port: int | None = typer.Option(
        None, "--mqtt-port", help="MQTT port (default TAIHU_MQTT_PORT, 1883); next free if busy."
    ),
    no_serve: bool = typer.Option(False, "--no-serve", help="Prepare the data and exit."),
) -> None:
    """Start the platform with a fresh demo database (SQLite) and demo data."""
    started = time.monotonic()
    # The documented port settings (TAIHU_HTTP_PORT, TAIHU_MQTT_PORT, TAIHU_HANDLE_PORT, hosts)
    # apply as for `taihu serve`; the options, when given, win.
    http, mqtt = HttpSettings(), MqttSettings()
    bind = host or http.host
    settings = Settings(
        env="dev",
        data_dir=data_dir,
        database=DatabaseSettings(url=None),
        http=HttpSettings(host=bind, port=http.port if port is None else port, workers=1),
        mqtt=MqttSettings(
            host=host or mqtt.host, port=mqtt.port if mqtt_port is None else mqtt_port
        ),
    )
    configure_logging(settings.log)
    data_dir.mkdir(parents=True, exist_ok=True)
    log_file = _quiet_terminal(data_dir)
    console.print(f"Setting up the demo district (about {_SETUP_SECONDS} s) …", highlight=False)
    for name in _DB_FILES:
        (data_dir / name).unlink(missing_ok=True)
    # Bound before the data is made: the demo's identifiers link to the port actually taken.
    http_socket = None if no_serve else bind_http(settings, on_busy="next")
    http_port = settings.http.port if http_socket is None else http_socket.getsockname()[1]
    base_url = _console_url(settings, http_port)

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
                steps = demo_steps(await demo_templates(db))
                task = progress.add_task("", total=steps)
                return await seed_demo(
                    db, settings.security, seckeys=seckeys_for(settings), base_url=base_url,
                    progress=lambda name: progress.update(task, advance=1, description=name),
                )  # fmt: skip

    devices = run(_prepare())
    console.print(
        f"Demo data ready in {time.monotonic() - started:.0f} s; the full log is in {log_file}",
        highlight=False,
    )
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
        serve_http(settings, on_busy="next", mqtt_socket=mqtt_socket,
                   handle_sockets=handle_sockets, http_socket=http_socket)  # fmt: skip
