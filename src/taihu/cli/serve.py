"""`taihu serve`: run the platform's listeners in the foreground."""

from __future__ import annotations

import typer

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
) -> None:
    """Serve the console, the APIs and the protocol listeners."""
    settings = with_overrides(
        load_settings(),
        host=host,
        port=port,
        mqtt_port=mqtt_port,
        handle_port=handle_port,
        workers=workers,
    )
    configure_logging(settings.log)
    try:
        settings.check_safe()
    except UnsafeSettingsError as exc:
        fail(str(exc))

    async def _check_schema() -> None:
        async with open_database(settings):
            pass

    run(_check_schema())
    mqtt_socket = bind_mqtt(settings, on_busy="fail")
    handle_sockets = bind_handle_listeners(settings, on_busy="fail")
    serve_http(settings, on_busy="fail", mqtt_socket=mqtt_socket, handle_sockets=handle_sockets)


def with_overrides(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    mqtt_port: int | None = None,
    handle_port: int | None = None,
    workers: int | None = None,
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
    try:
        return Settings.model_validate(data)
    except ValueError as exc:
        fail(f"invalid option: {exc}")
