"""Top-level `taihu` command."""

from __future__ import annotations

import contextlib

import typer
from pydantic import ValidationError

from taihu import __version__
from taihu.accounts import cli as accounts_cli
from taihu.alarms import cli as alarms_cli
from taihu.chains import cli as chains_cli
from taihu.cli import backup, db, demo, serve, users
from taihu.devices import cli as devices_cli
from taihu.devices.cli import sparkplug_app
from taihu.edge import cli as edge_cli
from taihu.enterprises import cli as enterprises_cli
from taihu.identifiers import cli as identifiers_cli
from taihu.identifiers import set_case_sensitive
from taihu.monitor import cli as monitor_cli
from taihu.nameplates import cli as nameplates_cli
from taihu.notices import cli as notices_cli
from taihu.programmes import cli as programmes_cli
from taihu.reporting import cli as reporting_cli
from taihu.settings import HandleSettings
from taihu.solutions import cli as solutions_cli
from taihu.surveys import cli as surveys_cli

__all__ = ["app", "main"]

app = typer.Typer(
    name="taihu",
    help="Taihu, the district's industrial internet platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="user")
app.add_typer(accounts_cli.token_app, name="token")
app.add_typer(enterprises_cli.app, name="enterprise")
app.add_typer(chains_cli.app, name="chain")
app.add_typer(identifiers_cli.app, name="id")
app.add_typer(identifiers_cli.node_app, name="node")
app.add_typer(devices_cli.app, name="device")
app.add_typer(sparkplug_app, name="sparkplug")
app.add_typer(alarms_cli.app, name="alarm")
app.add_typer(nameplates_cli.app, name="nameplate")
app.add_typer(edge_cli.app, name="edge")
app.add_typer(monitor_cli.app, name="monitor")
app.add_typer(notices_cli.app, name="notice")
app.add_typer(programmes_cli.app, name="programme")
app.add_typer(reporting_cli.app, name="report")
app.add_typer(solutions_cli.app, name="solution")
app.add_typer(surveys_cli.app, name="survey")


@app.callback()
def _every_command() -> None:
    """Before any command: the node's handle case rule (TAIHU_HANDLE_CASE_SENSITIVE)."""
    with contextlib.suppress(ValidationError):  # the command's own settings report it
        set_case_sensitive(HandleSettings().case_sensitive)


@app.command("version")
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


def main() -> None:
    """Entry point of the console script."""
    app()
