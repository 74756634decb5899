"""Processes without the HTTP server: transport, ingest, resolver and jobs roles on their own.

    role        what runs                                    needs
    transport   the MQTT device transport                    a bus, or it stores itself
    ingest      the consumer of the bus, writing the store   TAIHU_CLUSTER_NATS_URLS
    resolver    the Handle protocol on TCP and UDP           -
    jobs        retention, meter sync, reports, notices,     - (each job holds a database
                alarm deliveries                               lease: once across processes)

With the ``api`` role the HTTP server runs instead (``serve_http``), hosting the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from typing import Protocol

from taihu.cli.metrics import listen_for_metrics
from taihu.core import Clock, Database, SystemClock
from taihu.core.commands import console, database_for, fail
from taihu.devices import BusNode, DeviceHub
from taihu.identifiers import Filer, Resolver, handle_server_for
from taihu.monitor import MeterSync
from taihu.reporting import ReportJobs
from taihu.settings import Settings
from taihu.web import alarm_delivery_for, alarm_engine_for, notice_jobs_for

__all__ = ["serve_roles"]

log = logging.getLogger("taihu.serve")


def serve_roles(
    settings: Settings,
    *,
    mqtt_socket: socket.socket | None,
    handle_sockets: tuple[socket.socket, socket.socket] | None,
) -> None:
    """Run this process's roles until SIGTERM or SIGINT."""
    listen_for_metrics(settings)  # no HTTP server here: Prometheus scrapes this listener
    try:
        asyncio.run(_serve(settings, mqtt_socket, handle_sockets))
    except ConnectionError as exc:  # the message bus: say which setting, not a traceback
        fail(str(exc))


class _Job(Protocol):
    def start(self) -> None: ...

    async def stop(self) -> None: ...


async def _serve(
    settings: Settings,
    mqtt_socket: socket.socket | None,
    handle_sockets: tuple[socket.socket, socket.socket] | None,
) -> None:
    roles = settings.cluster.plays
    db = database_for(settings)
    clock = SystemClock()
    hub = DeviceHub(db, settings.mqtt, clock=clock)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # Stopped in the reverse order of starting: the listeners first, the database last.
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(db.dispose)
        # The alarm engine watches what is stored: in the ingest process when there is a bus.
        alarm_engine = alarm_engine_for(settings, db, clock, hub)
        await alarm_engine.start()
        stack.push_async_callback(alarm_engine.stop)
        if settings.cluster.bus:
            bus = BusNode(settings.cluster, hub, publish=True, consume="ingest" in roles)
            await bus.start()
            stack.push_async_callback(bus.stop)
        stack.push_async_callback(hub.stop)  # before the bus: its last messages are published
        if mqtt_socket is not None:
            await hub.start(mqtt_socket)
        if handle_sockets is not None:
            await _start_handle(stack, settings, db, clock, handle_sockets)
        if "jobs" in roles:
            jobs: list[_Job] = [
                MeterSync(db, settings, clock),
                ReportJobs(db, settings, clock),
                notice_jobs_for(settings, db, clock),
                alarm_delivery_for(settings, db, clock),
            ]
            for job in jobs:
                job.start()
                stack.push_async_callback(job.stop)
        # A readiness line that scripts and tests wait on.
        console.print(f"ready: roles {','.join(roles)}", highlight=False)
        log.info("ready: roles %s", ",".join(roles))
        await stop.wait()


async def _start_handle(
    stack: contextlib.AsyncExitStack,
    settings: Settings,
    db: Database,
    clock: Clock,
    sockets: tuple[socket.socket, socket.socket],
) -> None:
    resolver = Resolver(
        db,
        clock,
        max_entries=settings.handle.resolver_cache_entries,
        max_bytes=settings.handle.resolver_cache_megabytes << 20,
    )
    await resolver.open_pool()
    stack.push_async_callback(resolver.aclose)
    handle = handle_server_for(settings, db, clock, resolver, sockets[0].getsockname()[1])
    await handle.start(*sockets)
    stack.push_async_callback(handle.stop)
    filer = Filer(db, settings.node, clock)
    filer.start()
    stack.push_async_callback(filer.stop)
