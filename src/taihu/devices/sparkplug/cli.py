"""`taihu sparkplug …`: the Sparkplug B host application's configuration and status."""

from __future__ import annotations

import time

import orjson
import typer
from rich.table import Table

from taihu.core.commands import console, fail, load_settings
from taihu.devices.sparkplug.host import STATUS_FILE

__all__ = ["app"]

app = typer.Typer(help="The Sparkplug B host application.", no_args_is_help=True)


@app.command("status")
def status(
    as_json: bool = typer.Option(False, "--json", help="Print the status as JSON."),
) -> None:
    """Show the host's settings and what the running server last wrote of its nodes."""
    settings = load_settings()
    s = settings.sparkplug
    path = settings.data_dir / STATUS_FILE
    document = orjson.loads(path.read_bytes()) if path.exists() else None
    if as_json:
        print(orjson.dumps({"enabled": s.enabled, "status": document}).decode())  # noqa: T201
        return
    console.print(
        f"Sparkplug host [bold]{s.host_id}[/] on {s.broker_host}:{s.broker_port}: "
        f"{'enabled' if s.enabled else 'disabled (TAIHU_SPARKPLUG_ENABLED)'}; groups "
        f"{', '.join(s.groups) or 'all'}; enterprises "
        f"{', '.join(f'{k}→{v}' for k, v in s.enterprises.items()) or 'none mapped'}",
        highlight=False,
    )
    if document is None:
        fail(f"no status yet: {path} is written by `taihu serve` while the host runs")
    age = time.time() - document["written_at"] / 1000
    state = "connected" if document["connected"] else f"not connected ({document['last_error']})"
    console.print(f"{state}; written {age:.0f} s ago", highlight=False)
    console.print(" ".join(f"{k}={v}" for k, v in document["stats"].items()), highlight=False)
    table = Table("edge node", "online", "bdSeq", "seq", "Taihu device", "devices")
    for name, node in document["nodes"].items():
        children = ", ".join(f"{k} ({v})" for k, v in node["devices"].items())
        table.add_row(name, "yes" if node["online"] else "no", str(node["bd_seq"]),
                      str(node["seq"]), str(node["device_id"] or "-"), children)  # fmt: skip
    console.print(table)
