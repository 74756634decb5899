"""`taihu edge …` (and `taihu-edge …`): run, check, status and browse."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sqlite3
import sys
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from taihu.edge.buffer import read_status
from taihu.edge.config import ConfigError, EdgeConfig, load_config
from taihu.edge.gateway import EdgeGateway

__all__ = ["app", "main"]

app = typer.Typer(
    help="The edge gateway: Modbus TCP, OPC UA and MQTT devices to the hub, store-and-forward.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console(soft_wrap=True)
CONFIG = typer.Option(..., "--config", "-c", help="The gateway's YAML file.")


def _load(path: Path) -> EdgeConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        console.print(str(exc), style="red", highlight=False)
        raise typer.Exit(2) from None


@app.command("check")
def check(config: Path = CONFIG) -> None:
    """Validate a configuration file; every problem is named by field path and line."""
    loaded = _load(config)
    kinds = ", ".join(f"{d.name} ({d.connector})" for d in loaded.devices)
    console.print(
        f"{config}: OK — {len(loaded.devices)} devices: {kinds}; uplink "
        f"{loaded.uplink.host}:{loaded.uplink.port}; buffer {loaded.buffer.path}",
        highlight=False,
    )


@app.command("run")
def run(
    config: Path = CONFIG,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every reconnection."),
) -> None:
    """Run the gateway until interrupted (Ctrl-C or SIGTERM)."""
    loaded = _load(config)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # the connector reports instead
    logging.getLogger("asyncua").setLevel(logging.ERROR)
    try:
        gateway = EdgeGateway(loaded)
    except (OSError, sqlite3.Error) as exc:
        console.print(f"cannot open the buffer {loaded.buffer.path}: {exc}", style="red")
        raise typer.Exit(1) from None

    def ready(g: EdgeGateway) -> None:
        health = f"http://{loaded.health.host}:{g.health_port}/health" if g.health_port else "off"
        console.print(
            f"edge gateway running: {len(loaded.devices)} devices, uplink "
            f"{loaded.uplink.host}:{loaded.uplink.port}, buffer {loaded.buffer.path} "
            f"({g.buffer.depth} readings waiting), health {health}",
            highlight=False,
        )
        sys.stdout.flush()

    async def _main() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await gateway.run(ready)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
    console.print("edge gateway stopped; the buffer keeps what was not sent", highlight=False)


def _fetch(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - a local http URL
        document: dict[str, Any] = orjson.loads(answer.read())
    return document


def _when(ms: int | None) -> str:
    return (
        datetime.fromtimestamp(ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M:%S") if ms else "—"
    )


@app.command("status")
def status(
    config: Path = CONFIG,
    url: str | None = typer.Option(None, "--url", help="Health endpoint (default: the config's)."),
    as_json: bool = typer.Option(False, "--json", help="Print the status document as JSON."),
) -> None:
    """Devices, last successful poll, buffer depth and age, sent/dropped/error counts."""
    loaded = _load(config)
    live = True
    health = loaded.health
    target = url or (f"http://{health.host}:{health.port}/health" if health.enabled else None)
    try:
        if target is None:
            raise OSError("the health endpoint is off")
        document = _fetch(target)
    except OSError:
        # Not running (or unreachable): what the buffer database says.
        if not loaded.buffer.path.exists():
            console.print(f"no buffer at {loaded.buffer.path}: the gateway has not run yet")
            raise typer.Exit(1) from None
        document, live = read_status(loaded.buffer.path), False
    if as_json:
        console.print_json(orjson.dumps(document).decode())
        return
    _print_status(document, live)


def _print_status(document: dict[str, Any], live: bool) -> None:
    buffer = document.get("buffer", {})
    uplink = document.get("uplink", {})
    source = "running" if live else f"not reachable; last saved {_when(document.get('at'))}"
    console.print(f"edge gateway: {source}", highlight=False)
    console.print(
        f"uplink: {'connected' if uplink.get('connected') else 'disconnected'}, "
        f"{uplink.get('connects', 0)} connects, limits {uplink.get('limits') or 'none'}, "
        f"last error {uplink.get('last_error') or '—'}",
        highlight=False,
    )
    console.print(
        f"buffer: {buffer.get('depth', 0)} readings, oldest {buffer.get('oldest_age_s', 0)} s; "
        f"sent {buffer.get('sent', 0)}, dropped {buffer.get('dropped', 0)} (full "
        f"{buffer.get('dropped_full', 0)}, newest {buffer.get('dropped_newest', 0)}, age "
        f"{buffer.get('dropped_age', 0)}, rejected {buffer.get('rejected', 0)})",
        highlight=False,
    )
    table = Table("device", "connector", "up", "last successful poll", "readings", "errors",
                  "last error")  # fmt: skip
    for d in document.get("devices", []):
        table.add_row(
            d["name"], d["connector"], "yes" if d["connected"] else "no", _when(d["last_ok"]),
            str(d["readings"]), str(d["errors"]), d.get("last_error") or "",
        )  # fmt: skip
    console.print(table)


@app.command("browse")
def browse(
    url: str = typer.Argument(..., help="The server, e.g. opc.tcp://192.168.1.20:4840."),
    depth: int = typer.Option(3, "--depth", help="How many levels below Objects."),
) -> None:
    """List an OPC UA server's nodes (security None), to find the node ids for a config."""
    from taihu.edge.connectors.opcua import browse as walk  # noqa: PLC0415

    try:
        nodes = asyncio.run(walk(url, depth))
    except (OSError, TimeoutError) as exc:
        console.print(f"cannot browse {url}: {exc}", style="red", highlight=False)
        raise typer.Exit(1) from None
    table = Table("node id", "browse name", "class", title=url)
    for level, node_id, name, kind in nodes:
        table.add_row(node_id, "  " * level + name, kind)
    console.print(table)


def main() -> None:
    """Entry point of the `taihu-edge` script."""
    app()
