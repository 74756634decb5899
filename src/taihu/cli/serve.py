"""`taihu serve`: run the platform's listeners in the foreground."""

from __future__ import annotations

import typer

from taihu.cli.roles import serve_roles
from taihu.cli.server import bind_handle_listeners, bind_mqtt, serve_http
from taihu.core.commands import fail, load_settings, open_database, run
from taihu.core.logs import configure_logging
from taihu.settings import Settings, UnsafeSettingsError

__all__ = ["serve"]


def serve(
    host: str | None = typer.Option(None, "--host", help="Address to bind (TAIHU_HTTP_HOST)."),
    port: int | None = typer.Option(
        None, "--port", help="HTTP port, 0 = any free (TAIHU_HTTP_PORT)."
    ),
    mqtt_port: int | None = typer.Option(
        None, "--mqtt-port", help="MQTT port, 0 = any free (TAIHU_MQTT_PORT)."
    ),
    handle_port: int | None = typer.Option(
        None, "--handle-port", help="Handle TCP/UDP port, 0 = any free (TAIHU_HANDLE_PORT)."
    ),
    workers: int | None = typer.Option(None, "--workers", help="HTTP worker processes."),
    role: list[str] | None = typer.Option(
        None,
        "--role",
        help="Role of this process: api, transport, ingest, resolver, jobs (repeatable or "
        "comma-separated; all by default, TAIHU_CLUSTER_ROLES).",
    ),
) -> None:
    """Serve the console, the APIs and the protocol listeners (or some of them: --role)."""
    settings = with_overrides(
        load_settings(),
        host=host,
        port=port,
        mqtt_port=mqtt_port,
        handle_port=handle_port,
        workers=workers,
        roles=",".join(role) if role else None,
    )
    roles = settings.cluster.plays
    if "ingest" in roles and not settings.cluster.all_roles and not settings.cluster.bus:
        fail("the ingest role consumes the message bus: set TAIHU_CLUSTER_NATS_URLS")
    configure_logging(settings.log)
    try:
        settings.check_safe()
    except UnsafeSettingsError as exc:
        fail(str(exc))

    async def _check_schema() -> None:
        async with open_database(settings):
            pass

    run(_check_schema())
    mqtt_socket = bind_mqtt(settings, on_busy="fail") if "transport" in roles else None
    handle_sockets = (
        bind_handle_listeners(settings, on_busy="fail") if "resolver" in roles else None
    )
    if "api" in roles:  # the HTTP server hosts the other roles of the process
        serve_http(settings, on_busy="fail", mqtt_socket=mqtt_socket, handle_sockets=handle_sockets)
    else:
        serve_roles(settings, mqtt_socket=mqtt_socket, handle_sockets=handle_sockets)


def with_overrides(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    mqtt_port: int | None = None,
    handle_port: int | None = None,
    workers: int | None = None,
    roles: str | None = None,
) -> Settings:
    """Settings with command-line options applied over the environment (validated again)."""
    http = settings.http.model_dump()
    http.update(
        {k: v for k, v in {"host": host, "port": port, "workers": workers}.items() if v is not None}
    )
    data = settings.model_dump()
    data["http"] = http
    if mqtt_port is not None:
        data["mqtt"]["port"] = mqtt_port
    if handle_port is not None:
        data["handle"]["port"] = handle_port
    if roles is not None:
        data["cluster"]["roles"] = roles
    try:
        return Settings.model_validate(data)
    except ValueError as exc:
        fail(f"invalid option: {exc}")
