"""Start the HTTP server (one process or several workers) on a socket bound up front.

Binding before uvicorn starts lets a busy port stop the command with a clear message (or, for the
demo, move to the next free port) and lets port 0 pick a free port that is then printed.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import threading
from dataclasses import dataclass
from typing import Literal

import uvicorn
from uvicorn.supervisors import Multiprocess

from taihu.cli.metrics import listen_for_metrics
from taihu.core import SystemClock
from taihu.core.commands import console, database_for, fail
from taihu.core.metrics import metrics_dir, process_exited, share_metrics
from taihu.devices import SPARKPLUG_STATUS_FILE, BusNode, DeviceHub, SparkplugHost
from taihu.identifiers import (
    Filer,
    Resolver,
    bind_handle,
    bind_relay,
    handle_server_for,
    record_bound_port,
    relay_path,
    spread_datagrams,
)
from taihu.monitor import MeterSync
from taihu.reporting import ReportJobs
from taihu.settings import Settings
from taihu.web import (
    CoalescingHttpToolsProtocol,
    alarm_delivery_for,
    alarm_engine_for,
    create_app,
    notice_jobs_for,
    tune_collector,
)

__all__ = [
    "UVICORN_OPTIONS",
    "PortBusy",
    "bind_handle_listeners",
    "bind_http",
    "bind_mqtt",
    "bind_tcp",
    "serve_http",
]

log = logging.getLogger("taihu.serve")
_NEXT_PORT_TRIES = 50
_LAST_PORT = 65535
_WORKER_HEALTHCHECK_SECONDS = 60

UVICORN_OPTIONS: dict[str, object] = {
    "log_config": None,
    "server_header": False,
    "lifespan": "on",
    "timeout_graceful_shutdown": 10,
    "access_log": False,  # RequestMiddleware writes the access log, with request ids
    # Forwarded headers are believed only from TAIHU_HTTP_TRUSTED_PROXIES, in the application
    # (web/app.py); uvicorn's own default would trust any caller on loopback.
    "proxy_headers": False,
    "http": CoalescingHttpToolsProtocol,  # one write per response (web/http_protocol.py)
}
"""How uvicorn serves the application (one process or several workers)."""


@dataclass(frozen=True, slots=True)
class PortBusy(Exception):
    """A port that another process holds."""

    host: str
    port: int


def bind_tcp(host: str, port: int) -> socket.socket:
    """A listening TCP socket, or ``PortBusy``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise PortBusy(host, port) from exc
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _bind(  # noqa: RET503 - every path ends in a return or in fail(), which exits
    host: str,
    port: int,
    on_busy: Literal["fail", "next"],
    *,
    option: str,
    setting: str,
) -> socket.socket:
    # Moving on never passes the last port, 65535.
    tries = min(_NEXT_PORT_TRIES, _LAST_PORT + 1 - port) if on_busy == "next" and port else 1
    for candidate in range(port, port + tries):
        try:
            return bind_tcp(host, candidate)
        except PortBusy:
            if on_busy == "next":
                then = f", trying {candidate + 1}" if candidate + 1 < port + tries else ""
                console.print(f"port {candidate} is busy{then}", style="yellow")
    if on_busy == "next":
        fail(f"no free port in {port}-{port + tries - 1} on {host}; pick one with {option}")
    fail(
        f"port {port} on {host} is already in use; choose another with {option} "
        f"or the setting {setting} (0 picks a free port)"
    )


def bind_http(settings: Settings, on_busy: Literal["fail", "next"]) -> socket.socket:
    """The HTTP listener's socket (bound ahead when something must know the port first)."""
    return _bind(
        settings.http.host, settings.http.port, on_busy, option="--port", setting="TAIHU_HTTP_PORT"
    )


def bind_mqtt(settings: Settings, on_busy: Literal["fail", "next"]) -> socket.socket:
    """The MQTT listener's socket, bound before anything starts; prints the port taken."""
    sock = _bind(
        settings.mqtt.host, settings.mqtt.port, on_busy, option="--mqtt-port",
        setting="TAIHU_MQTT_PORT",
    )  # fmt: skip
    host, port = sock.getsockname()[:2]
    scheme = "mqtts" if settings.mqtt.tls_cert and settings.mqtt.tls_key else "mqtt"
    shown_host = f"[{host}]" if ":" in host else host
    console.print(
        f"MQTT device transport on [bold]{scheme}://{shown_host}:{port}[/]", highlight=False
    )
    log.info("MQTT listening on %s:%s", host, port, extra={"port": port})
    return sock


def bind_handle_listeners(  # noqa: RET503 - every path returns or ends in fail(), which exits
    settings: Settings, on_busy: Literal["fail", "next"]
) -> tuple[socket.socket, socket.socket]:
    """The Handle protocol's TCP and UDP sockets on one port, bound up front; prints the port.

    With several HTTP workers the UDP socket is shared: every worker answers UDP too.
    """
    host, port = settings.handle.host, settings.handle.port
    tries = min(_NEXT_PORT_TRIES, _LAST_PORT + 1 - port) if on_busy == "next" and port else 1
    for candidate in range(port, port + tries):
        try:
            sockets = bind_handle(host, candidate, shared=settings.http.workers > 1)
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES):
                raise
            if on_busy == "next":
                console.print(f"Handle port {candidate} is busy", style="yellow")
            continue
        bound = sockets[0].getsockname()[1]
        record_bound_port(settings.data_dir, bound)  # for `taihu node site` beside this server
        shown = f"[{host}]" if ":" in host else host
        console.print(f"Handle protocol on [bold]{shown}:{bound}[/] (TCP and UDP)", highlight=False)
        log.info("Handle listening on %s:%s", host, bound, extra={"port": bound})
        return sockets
    fail(
        f"Handle port {port} on {host} is already in use (TCP or UDP); choose another with "
        "--handle-port or the setting TAIHU_HANDLE_PORT (0 picks a free port)"
    )


def _handle_in_thread(
    settings: Settings,
    sockets: tuple[socket.socket, socket.socket],
    relay: socket.socket | None,
) -> None:
    """Serve the Handle protocol from the supervisor when HTTP runs in several workers.

    The supervisor serves TCP and its share of UDP, and answers the datagrams the workers
    relay to it (``relay``: those needing the challenges and sessions it holds).
    """

    async def _serve() -> None:
        db = database_for(settings)
        clock = SystemClock()
        # Not warmed: with the workers answering UDP, the supervisor's share is small.
        resolver = Resolver(
            db,
            clock,
            max_entries=settings.handle.resolver_cache_entries,
            max_bytes=settings.handle.resolver_cache_megabytes << 20,
        )
        await resolver.open_pool()
        server = handle_server_for(settings, db, clock, resolver, sockets[0].getsockname()[1])
        await server.start(*sockets, relay_in=relay)
        filer = Filer(db, settings.node, clock)
        filer.start()
        try:
            await asyncio.Event().wait()
        finally:
            await filer.stop()
            await server.stop()
            await resolver.aclose()
            await db.dispose()

    threading.Thread(target=asyncio.run, args=(_serve(),), name="taihu-handle", daemon=True).start()


def _mqtt_in_thread(settings: Settings, sock: socket.socket) -> None:
    """Serve MQTT from the supervisor process when HTTP runs in several worker processes."""

    async def _serve() -> None:
        db = database_for(settings)
        lanes = settings.http.workers + 1  # the workers stamp HTTP readings in the others
        hub = DeviceHub(db, settings.mqtt, stamp_lane=(lanes - 1, lanes))
        meter_sync = MeterSync(db, settings, SystemClock())
        sparkplug = SparkplugHost(
            hub, settings.sparkplug, status_path=settings.data_dir / SPARKPLUG_STATUS_FILE
        )
        report_jobs = ReportJobs(db, settings, SystemClock())
        # The workers' applications run none of these: they belong to the process of the hub.
        notice_jobs = notice_jobs_for(settings, db, SystemClock())
        alarm_engine = alarm_engine_for(settings, db, SystemClock(), hub)  # MQTT data's alarms
        alarm_engine.sees_data = not settings.cluster.bus  # with a bus, the workers store it
        alarm_delivery = alarm_delivery_for(settings, db, SystemClock())
        # The workers consume the bus (their ingest role); this hub only publishes to it.
        bus = BusNode(settings.cluster, hub, publish=True, consume=False)
        await alarm_engine.start()
        if settings.cluster.bus:
            await bus.start()
        await hub.start(sock)
        if settings.sparkplug.enabled:
            sparkplug.start()
        meter_sync.start()
        report_jobs.start()
        notice_jobs.start()
        alarm_delivery.start()
        try:
            await asyncio.Event().wait()
        finally:
            await alarm_delivery.stop()
            await notice_jobs.stop()
            await report_jobs.stop()
            await meter_sync.stop()
            await sparkplug.stop()
            await hub.stop()
            if settings.cluster.bus:
                await bus.stop()
            await alarm_engine.stop()  # after the hub: what it stored last is evaluated
            await db.dispose()

    # A daemon thread: at exit, only unacknowledged messages are lost, and clients resend those.
    threading.Thread(target=asyncio.run, args=(_serve(),), name="taihu-mqtt", daemon=True).start()


def serve_http(
    settings: Settings,
    *,
    on_busy: Literal["fail", "next"] = "fail",
    mqtt_socket: socket.socket | None = None,
    handle_sockets: tuple[socket.socket, socket.socket] | None = None,
    http_socket: socket.socket | None = None,
) -> None:
    """Serve the platform until interrupted; prints the address actually bound.

    With ``mqtt_socket`` the MQTT device transport runs in the same process (and, with one
    worker, in the same event loop as the HTTP server, so the APIs reach connected devices).
    ``http_socket`` is one ``bind_http`` bound before (else it is bound here).
    """
    sock = http_socket or bind_http(settings, on_busy)
    host, port = sock.getsockname()[:2]
    shown_host = f"[{host}]" if ":" in host else host
    console.print(f"HTTP console and APIs on [bold]http://{shown_host}:{port}[/]", highlight=False)
    log.info("HTTP listening on %s:%s", host, port, extra={"port": port})
    workers = settings.http.workers
    common = UVICORN_OPTIONS
    if workers == 1:
        listen_for_metrics(settings)
        app = create_app(settings, mqtt_socket=mqtt_socket, handle_sockets=handle_sockets)
        tune_collector()
        config = uvicorn.Config(app, **common)  # type: ignore[arg-type]
        uvicorn.Server(config).run(sockets=[sock])
        return
    # Before any thread or worker starts: the supervisor's hub and Handle threads and every
    # worker count into files that each worker's /metrics sums (core/metrics.py).
    share_metrics(metrics_dir(settings.data_dir))
    listen_for_metrics(settings)
    # Worker processes build their own application from the environment, so the effective
    # settings travel there as TAIHU_ variables.
    os.environ.update(_as_environment(settings, port))
    if mqtt_socket is not None:
        _mqtt_in_thread(settings, mqtt_socket)
    # Workers join the Handle UDP port when the relay socket exists (web.app_from_environment).
    relay_at = relay_path(settings.data_dir)
    relay_at.unlink(missing_ok=True)
    if handle_sockets is not None:
        # The port actually bound (the setting may be 0): the workers bind the same one.
        os.environ["TAIHU_HANDLE_PORT"] = str(handle_sockets[1].getsockname()[1])
        relay = bind_relay(relay_at)
        if relay is None:
            log.warning("data directory path too long for the Handle relay socket %s: "
                        "UDP is answered by the supervisor only", relay_at)  # fmt: skip
        elif spread_datagrams(handle_sockets[1], workers, settings.handle.udp_spread):
            log.info("Handle UDP datagrams spread over the %d workers (%s)", workers,
                     settings.handle.udp_spread)  # fmt: skip
        _handle_in_thread(settings, handle_sockets, relay)
    if mqtt_socket is not None or handle_sockets is not None:
        tune_collector()  # the supervisor ingests MQTT / answers Handle: same GC intent as a worker
    config = uvicorn.Config(
        "taihu.web:app_from_environment",
        factory=True,
        workers=workers,
        # A worker answers uvicorn's health check only once its imports are done: on a loaded
        # machine that takes longer than uvicorn's 5 s, and workers were killed at start forever.
        timeout_worker_healthcheck=_WORKER_HEALTHCHECK_SECONDS,
        **common,  # type: ignore[arg-type]
    )
    _Workers(config, sockets=[sock]).run()


class _Workers(Multiprocess):
    """uvicorn's supervisor of the workers, which also forgets the live gauges of dead ones."""

    def _watching(self) -> set[int]:
        return {pid for process in self.processes if (pid := process.pid) is not None}

    def _forget(self, before: set[int]) -> None:
        for pid in before - self._watching():
            process_exited(pid)

    def keep_subprocess_alive(self) -> None:
        """Replace dead workers (uvicorn) and forget their gauges."""
        before = self._watching()
        super().keep_subprocess_alive()
        self._forget(before)

    def handle_signals(self) -> None:
        """Act on signals (uvicorn: SIGHUP restarts, SIGTTOU retires workers), then forget."""
        before = self._watching()
        super().handle_signals()
        self._forget(before)

    def join_all(self) -> None:
        """Wait for every worker at shutdown, then forget their gauges."""
        super().join_all()
        for pid in self._watching():
            process_exited(pid)


def _as_environment(settings: Settings, port: int) -> dict[str, str]:
    env = {
        "TAIHU_ENV": settings.env,
        "TAIHU_DATA_DIR": str(settings.data_dir.resolve()),
        "TAIHU_DATABASE_URL": settings.database_url,
        "TAIHU_HTTP_HOST": settings.http.host,
        "TAIHU_HTTP_PORT": str(port),
        "TAIHU_HTTP_WORKERS": str(settings.http.workers),
        "TAIHU_MQTT_HOST": settings.mqtt.host,
        "TAIHU_MQTT_PORT": str(settings.mqtt.port),
        "TAIHU_HANDLE_PORT": str(settings.handle.port),
        "TAIHU_LOG_FORMAT": settings.log.format,
        "TAIHU_LOG_LEVEL": settings.log.level,
        "TAIHU_CLUSTER_ROLES": ",".join(settings.cluster.plays),  # --role may have changed them
    }
    key = settings.security.secret_key.get_secret_value()
    if key:
        env["TAIHU_SECRET_KEY"] = key
    return env
