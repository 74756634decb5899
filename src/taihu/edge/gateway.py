"""The edge gateway process: device tasks, the buffer, the uplink and the health endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from taihu.edge.buffer import Buffer
from taihu.edge.config import EdgeConfig, Report
from taihu.edge.connectors import Collector, Connector, connector_for
from taihu.edge.status import GatewayStatus
from taihu.edge.stopping import cancel_all

__all__ = ["EdgeGateway"]

log = logging.getLogger("taihu.edge")
_HOUSEKEEPING = 5.0  # seconds between age checks and status snapshots


def _reports(config: EdgeConfig) -> dict[tuple[str, str], Report]:
    reports: dict[tuple[str, str], Report] = {}
    for device in config.devices:
        if device.connector == "modbus":
            entries = [(p.key, p.report) for g in device.groups for p in g.points]
        elif device.connector == "opcua":
            entries = [(n.key, n.report) for n in device.nodes]
        else:
            entries = [(f.key, f.report) for f in device.fields]
        for key, report in entries:
            reports[(device.name, key)] = report or device.report
    return reports


class EdgeGateway:
    """One gateway: runs until cancelled; every part keeps going when another fails."""

    def __init__(self, config: EdgeConfig) -> None:
        self.config = config
        b = config.buffer
        self.buffer = Buffer(
            b.path, max_readings=b.max_readings, max_age_s=b.max_age, drop=b.drop,
            synchronous=b.synchronous,
        )  # fmt: skip
        self.status = GatewayStatus()
        self.connectors: list[Connector] = [connector_for(d) for d in config.devices]
        for connector in self.connectors:
            self.status.devices[connector.health.name] = connector.health
        self.health_port: int | None = None

    def document(self) -> dict[str, Any]:
        """The status document (health endpoint, `taihu edge status`)."""
        return self.status.document(self.buffer.stats().as_dict(int(time.time() * 1000)))

    def telemetry(self) -> dict[str, Any]:
        """The gateway's own health as telemetry."""
        return self.status.telemetry(self.buffer.stats().as_dict(int(time.time() * 1000)))

    async def run(self, ready: Callable[[EdgeGateway], None] | None = None) -> None:
        """Run every device, the uplink and the endpoint until cancelled."""
        from taihu.edge.uplink import Uplink  # noqa: PLC0415 - paho is an edge extra

        wake = asyncio.Event()
        collector = Collector(self.buffer, _reports(self.config), wake)
        profiles = {d.name: d.type for d in self.config.devices}
        uplink = Uplink(self.config.uplink, self.buffer, profiles, self.status, wake)
        uplink.health = self.telemetry
        server = None
        if self.config.health.enabled:
            server = await asyncio.start_server(
                self._serve, self.config.health.host, self.config.health.port
            )
            self.health_port = server.sockets[0].getsockname()[1]
        tasks = [asyncio.create_task(c.run(collector), name=f"device {c.health.name}")
                 for c in self.connectors]  # fmt: skip
        tasks.append(asyncio.create_task(uplink.run(), name="uplink"))
        tasks.append(asyncio.create_task(self._housekeeping(), name="housekeeping"))
        if ready is not None:
            ready(self)
        try:
            await asyncio.gather(*tasks)
        finally:
            await cancel_all(tasks)
            if server is not None:
                server.close()
            with contextlib.suppress(Exception):
                self.buffer.save_status(self.document())
            self.buffer.close()

    async def _housekeeping(self) -> None:
        while True:
            try:
                if dropped := self.buffer.expire():
                    log.warning("dropped %d readings older than the buffer's max_age", dropped)
                self.buffer.save_status(self.document())
            except Exception:
                log.exception("buffer housekeeping failed; trying again")
            await asyncio.sleep(_HOUSEKEEPING)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """GET /health: the status document as JSON (HTTP/1.0-style, one request)."""
        try:
            async with asyncio.timeout(5.0):
                request = await reader.readline()
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    del line
            parts = request.decode("latin-1").split()
            if len(parts) >= 2 and parts[0] == "GET" and parts[1] in ("/", "/health"):
                status, body = "200 OK", orjson.dumps(self.document())
            else:
                status, body = "404 Not Found", b'{"error": "try GET /health"}'
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
