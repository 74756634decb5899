"""What the gateway knows about itself: per-device health, uplink counters, the status document."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DeviceHealth", "GatewayStatus", "UplinkStats"]


def _ms() -> int:
    return int(time.time() * 1000)


@dataclass(slots=True)
class DeviceHealth:
    """One device as its task sees it."""

    name: str
    connector: str
    connected: bool = False
    last_ok_ms: int | None = None
    readings: int = 0
    errors: int = 0
    last_error: str | None = None
    last_error_ms: int | None = None

    def ok(self, readings: int) -> None:
        """A successful poll (or a pushed reading)."""
        self.connected = True
        self.last_ok_ms = _ms()
        self.readings += readings

    def failed(self, error: BaseException | str) -> None:
        """A failed connection or poll."""
        self.connected = False
        self.errors += 1
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self.last_error = text.strip() or type(error).__name__
        self.last_error_ms = _ms()


@dataclass(slots=True)
class UplinkStats:
    """The uplink's session and counters since the process started."""

    connected: bool = False
    connects: int = 0
    messages: int = 0
    rejected: int = 0
    rate_limited: int = 0
    last_error: str | None = None
    limits: str = ""
    max_payload: int = 0


@dataclass(slots=True)
class GatewayStatus:
    """Everything `taihu edge status`, the health endpoint and the gateway telemetry show."""

    devices: dict[str, DeviceHealth] = field(default_factory=dict)
    uplink: UplinkStats = field(default_factory=UplinkStats)
    started_ms: int = field(default_factory=_ms)

    def document(self, buffer: dict[str, Any]) -> dict[str, Any]:
        """The status as JSON-ready data."""
        return {
            "at": _ms(),
            "started": self.started_ms,
            "uplink": {
                "connected": self.uplink.connected, "connects": self.uplink.connects,
                "messages": self.uplink.messages, "rejected": self.uplink.rejected,
                "rate_limited": self.uplink.rate_limited, "last_error": self.uplink.last_error,
                "limits": self.uplink.limits, "max_payload": self.uplink.max_payload,
            },
            "buffer": buffer,
            "devices": [
                {"name": d.name, "connector": d.connector, "connected": d.connected,
                 "last_ok": d.last_ok_ms, "readings": d.readings, "errors": d.errors,
                 "last_error": d.last_error, "last_error_at": d.last_error_ms}
                for d in self.devices.values()
            ],
        }  # fmt: skip

    def telemetry(self, buffer: dict[str, Any]) -> dict[str, Any]:
        """The gateway's own health, as telemetry of the gateway device on the hub."""
        up = sum(1 for d in self.devices.values() if d.connected)
        return {
            "edge_devices": len(self.devices),
            "edge_devices_up": up,
            "edge_buffer_depth": buffer["depth"],
            "edge_buffer_age_s": buffer["oldest_age_s"],
            "edge_sent": buffer.get("sent", 0),
            "edge_dropped": buffer["dropped"],
            "edge_errors": sum(d.errors for d in self.devices.values()),
            "edge_uplink_rejected": self.uplink.rejected,
            "edge_uptime_s": round((_ms() - self.started_ms) / 1000),
        }
