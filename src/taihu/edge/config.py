"""The edge gateway's configuration: a YAML file, validated on load.

Errors name the file, the field path (``devices[1].groups[0].points[2].type``), its line and
what is wrong, every problem at once. Durations are seconds or text with a unit (``500ms``,
``10s``, ``5m``, ``12h``, ``7d``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "Backoff",
    "BufferConfig",
    "ConfigError",
    "DeviceConfig",
    "EdgeConfig",
    "HealthConfig",
    "ModbusDevice",
    "ModbusPoint",
    "MqttDevice",
    "MqttField",
    "OpcUaDevice",
    "OpcUaNode",
    "OpcUaSecurity",
    "PollGroup",
    "Report",
    "UplinkConfig",
    "load_config",
    "parse_config",
]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")


def _seconds(value: Any) -> Any:
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError("a duration is seconds or a number with ms, s, m, h or d (e.g. 5m)")
        return float(match.group(1)) * _UNITS[match.group(2) or "s"]
    return value


Duration = Annotated[float, BeforeValidator(_seconds), Field(gt=0)]
Port = Annotated[int, Field(ge=0, le=65535)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Backoff(_Strict):
    """Jittered exponential backoff between reconnection attempts."""

    initial: Duration = 1.0
    max: Duration = 60.0
    factor: float = Field(default=2.0, ge=1.0)


class Report(_Strict):
    """When a key's readings are reported (kept in the buffer and sent)."""

    strategy: Literal["on_change", "on_period", "on_change_or_period", "always"] = "always"
    period: Duration = 60.0


class UplinkConfig(_Strict):
    """The device hub (or a ThingsBoard server), reached over its gateway MQTT API."""

    host: str = "127.0.0.1"
    port: Port = 1883
    token: str = Field(min_length=1)
    client_id: str | None = None
    keepalive: int = Field(default=60, ge=5, le=600)
    tls: bool = False
    ca_file: Path | None = None
    connect_timeout: Duration = 10.0
    max_inflight: int = Field(default=20, ge=1, le=1000)
    max_batch: int = Field(default=500, ge=1, le=100_000)
    rate_limits: str = ""
    health_period: Duration = 60.0
    backoff: Backoff = Backoff()


class BufferConfig(_Strict):
    """The store-and-forward buffer: a SQLite database in WAL mode."""

    path: Path = Path("edge-buffer.db")
    max_readings: int = Field(default=10_000_000, ge=1)
    max_age: Duration = 7 * 86400.0
    drop: Literal["oldest", "newest"] = "oldest"
    synchronous: Literal["normal", "full"] = "normal"


class HealthConfig(_Strict):
    """The local health endpoint (plain HTTP, JSON)."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Port = 8765


class ModbusPoint(_Strict):
    """One value read from a Modbus device."""

    key: str = Field(min_length=1, max_length=255)
    table: Literal["holding", "input", "coil", "discrete"] = "holding"
    address: int = Field(ge=0, le=65535)
    type: Literal["int16", "uint16", "int32", "uint32", "float32", "float64", "bool"] = "uint16"
    byte_order: Literal["big", "little"] = "big"
    word_order: Literal["big", "little"] = "big"
    scale: float = 1.0
    offset: float = 0.0
    report: Report | None = None

    @model_validator(mode="after")
    def _bits_are_bool(self) -> ModbusPoint:
        if self.table in ("coil", "discrete") and self.type not in ("bool", "uint16"):
            raise ValueError(f"a {self.table} is one bit: its type is bool")
        return self


class PollGroup(_Strict):
    """Points read together, every ``interval``."""

    interval: Duration
    points: list[ModbusPoint] = Field(min_length=1)


class _Device(_Strict):
    name: str = Field(min_length=1, max_length=255)
    type: str | None = None
    timeout: Duration = 3.0
    backoff: Backoff = Backoff()
    report: Report = Report()


class ModbusDevice(_Device):
    """A Modbus TCP device."""

    connector: Literal["modbus"]
    host: str
    port: Port = 502
    unit: int = Field(default=1, ge=0, le=255)
    groups: list[PollGroup] = Field(min_length=1)

    def keys(self) -> list[str]:
        """Every key this device reports."""
        return [p.key for g in self.groups for p in g.points]


class OpcUaSecurity(_Strict):
    """OPC UA security: None, or Basic256Sha256 with the gateway's certificate."""

    policy: Literal["None", "Basic256Sha256"] = "None"
    mode: Literal["Sign", "SignAndEncrypt"] = "SignAndEncrypt"
    certificate: Path | None = None
    private_key: Path | None = None
    server_certificate: Path | None = None
    application_uri: str = "urn:taihu:edge"

    @model_validator(mode="after")
    def _certificates(self) -> OpcUaSecurity:
        if self.policy != "None" and (self.certificate is None or self.private_key is None):
            raise ValueError(f"policy {self.policy} needs certificate and private_key")
        return self


class OpcUaNode(_Strict):
    """One OPC UA variable, by node id (``ns=2;s=Machine.Speed``)."""

    key: str = Field(min_length=1, max_length=255)
    node: str = Field(min_length=1)
    report: Report | None = None


class OpcUaDevice(_Device):
    """An OPC UA server."""

    connector: Literal["opcua"]
    url: str = Field(pattern=r"^opc\.tcp://")
    mode: Literal["subscription", "polling"] = "subscription"
    interval: Duration = 1.0
    username: str | None = None
    password: str | None = None
    security: OpcUaSecurity = OpcUaSecurity()
    nodes: list[OpcUaNode] = Field(min_length=1)

    def keys(self) -> list[str]:
        """Every key this device reports."""
        return [n.key for n in self.nodes]


class MqttField(_Strict):
    """A key taken from a field of the JSON message (dotted path: ``data.power``)."""

    key: str = Field(min_length=1, max_length=255)
    path: str = Field(min_length=1)
    report: Report | None = None


class MqttDevice(_Device):
    """A device publishing JSON to a local MQTT broker."""

    connector: Literal["mqtt"]
    host: str = "127.0.0.1"
    port: Port = 1883
    username: str | None = None
    password: str | None = None
    topic: str = Field(min_length=1)
    ts_path: str | None = None
    fields: list[MqttField] = Field(min_length=1)

    def keys(self) -> list[str]:
        """Every key this device reports."""
        return [f.key for f in self.fields]


DeviceConfig = Annotated[ModbusDevice | OpcUaDevice | MqttDevice, Field(discriminator="connector")]


class EdgeConfig(_Strict):
    """The whole gateway."""

    uplink: UplinkConfig
    buffer: BufferConfig = BufferConfig()
    health: HealthConfig = HealthConfig()
    devices: list[DeviceConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> EdgeConfig:
        names = [d.name for d in self.devices]
        if duplicate := next((n for n in names if names.count(n) > 1), None):
            raise ValueError(f"device name {duplicate!r} is used twice")
        for device in self.devices:
            keys = device.keys()
            if duplicate := next((k for k in keys if keys.count(k) > 1), None):
                raise ValueError(f"device {device.name!r} reports key {duplicate!r} twice")
        return self


class ConfigError(Exception):
    """A configuration that cannot be used: every problem, by file, field path and line."""

    def __init__(self, file: str, problems: list[tuple[str, int | None, str]]) -> None:
        self.file = file
        self.problems = problems
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [f"{self.file}: {len(self.problems)} problem(s)"]
        for path, line, message in self.problems:
            where = f"{self.file}:{line}" if line else self.file
            lines.append(f"  {where}: {path or '(top level)'}: {message}")
        return "\n".join(lines)


def load_config(path: Path) -> EdgeConfig:
    """Read and validate a YAML file; ConfigError says what is wrong and where.

    Relative paths in it (buffer, certificates) are taken from the file's folder.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [("", None, f"cannot read: {exc.strerror}")]) from exc
    config = parse_config(text, str(path))
    base = path.parent

    def near(p: Path | None) -> Path | None:
        return p if p is None or p.is_absolute() else base / p

    devices = [
        d.model_copy(update={"security": d.security.model_copy(update={
            "certificate": near(d.security.certificate),
            "private_key": near(d.security.private_key),
            "server_certificate": near(d.security.server_certificate),
        })}) if isinstance(d, OpcUaDevice) else d
        for d in config.devices
    ]  # fmt: skip
    return config.model_copy(update={
        "buffer": config.buffer.model_copy(update={"path": near(config.buffer.path)}),
        "uplink": config.uplink.model_copy(update={"ca_file": near(config.uplink.ca_file)}),
        "devices": devices,
    })  # fmt: skip


def parse_config(text: str, file: str = "<config>") -> EdgeConfig:
    """Validate YAML text; relative buffer and certificate paths stay as written."""
    import yaml  # noqa: PLC0415 - part of the edge extra only

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(file, [("", line, f"not valid YAML: {problem}")]) from exc
    if not isinstance(document, dict):
        raise ConfigError(file, [("", None, "expected a mapping with uplink, buffer, devices")])
    try:
        return EdgeConfig.model_validate(document)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = _without_tags(error["loc"], document)
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append((_dotted(loc), _line(node, loc), message))
        raise ConfigError(file, problems) from exc


def _without_tags(loc: tuple[int | str, ...], document: Any) -> list[int | str]:
    """The path in the document: pydantic adds the union's tag (``modbus``) after a device."""
    path: list[int | str] = []
    here = document
    for part in loc:
        if isinstance(here, dict) and part in here:  # noqa: SIM114 - separate for mypy
            here = here[part]
        elif isinstance(here, list) and isinstance(part, int) and part < len(here):
            here = here[part]
        elif isinstance(part, str) and part in ("modbus", "opcua", "mqtt"):
            continue
        else:
            here = None
        path.append(part)
    return path


def _dotted(loc: list[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


def _line(node: Any, loc: list[int | str]) -> int | None:
    """The line of the deepest node of the path that exists in the YAML."""
    import yaml  # noqa: PLC0415

    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child = at = None
        if isinstance(node, yaml.MappingNode):
            # A key's own line: a missing field is reported where its parent is named.
            at, child = next(((k, v) for k, v in node.value if k.value == part), (None, None))
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            at = child = node.value[part] if part < len(node.value) else None
        if child is None or at is None:
            break
        node, line = child, at.start_mark.line + 1
    return line
