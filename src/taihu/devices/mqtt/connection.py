"""MQTT connection packets: CONNECT (with its will), CONNACK, PINGREQ, PINGRESP, DISCONNECT."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from taihu.devices.mqtt.framing import MalformedPacket, Reader, binary, properties_of, text
from taihu.devices.mqtt.properties import Properties, encode_properties
from taihu.devices.mqtt.reasons import Reason

__all__ = [
    "ConnAck",
    "Connect",
    "Disconnect",
    "PingReq",
    "PingResp",
    "Will",
    "decode_connack",
    "decode_connect",
    "decode_disconnect",
    "encode_connack",
    "encode_connect",
    "encode_disconnect",
]

_PROTOCOL_NAMES = {b"MQTT": (4, 5), b"MQIsdp": (3,)}


@dataclass(frozen=True, slots=True)
class Will:
    """The message a server publishes when a client goes away without DISCONNECT."""

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    properties: Properties = field(default_factory=Properties)


@dataclass(frozen=True, slots=True)
class Connect:
    """CONNECT: the first packet of a connection."""

    version: int  # 3 (MQIsdp), 4 (3.1.1) or 5
    client_id: str
    keep_alive: int = 60
    clean_start: bool = True
    username: str | None = None
    password: bytes | None = None
    will: Will | None = None
    properties: Properties = field(default_factory=Properties)


@dataclass(frozen=True, slots=True)
class ConnAck:
    """CONNACK: ``reason`` is the MQTT 5 reason code or the 3.1.1 return code."""

    session_present: bool = False
    reason: int = 0
    properties: Properties = field(default_factory=Properties)


@dataclass(frozen=True, slots=True)
class PingReq:
    """PINGREQ."""


@dataclass(frozen=True, slots=True)
class PingResp:
    """PINGRESP."""


@dataclass(frozen=True, slots=True)
class Disconnect:
    """DISCONNECT (in MQTT 5 either side may send it, with a reason)."""

    reason: int = 0
    properties: Properties = field(default_factory=Properties)


# -- decoding ----------------------------------------------------------------------------------


def decode_connect(r: Reader) -> Connect:
    """A CONNECT body; its protocol level says the version of the rest."""
    name = r.binary("protocol name")
    level = r.byte("protocol level")
    if name not in _PROTOCOL_NAMES:
        raise MalformedPacket(f"protocol name {name!r} is not MQTT", Reason.PROTOCOL_ERROR)
    if level not in _PROTOCOL_NAMES[name]:
        raise MalformedPacket(
            f"protocol level {level} is not supported", Reason.UNSUPPORTED_PROTOCOL_VERSION
        )
    flags = r.byte("connect flags")
    if flags & 0x01:
        raise MalformedPacket("connect flags: the reserved bit is set")
    keep_alive = r.u16("keep alive")
    props = r.properties(level)
    client_id = r.text("client identifier")
    will = None
    will_qos = (flags >> 3) & 0x03
    if flags & 0x04:
        if will_qos == 3:
            raise MalformedPacket("will QoS 3")
        will_props = r.properties(level)
        will = Will(
            r.text("will topic"), r.binary("will payload"), will_qos, bool(flags & 0x20),
            will_props,
        )  # fmt: skip
    elif will_qos or flags & 0x20:
        raise MalformedPacket("will QoS or retain without a will")
    username = r.text("user name") if flags & 0x80 else None
    password = r.binary("password") if flags & 0x40 else None
    if password is not None and username is None and level < 5:
        raise MalformedPacket("password without a user name")
    return Connect(
        level, client_id, keep_alive, bool(flags & 0x02), username, password, will, props
    )


def decode_connack(r: Reader, version: int) -> ConnAck:
    """A CONNACK body."""
    ack_flags = r.byte("acknowledge flags")
    reason = r.byte("reason code")
    return ConnAck(bool(ack_flags & 1), reason, r.properties(version))


def decode_disconnect(r: Reader, version: int) -> Disconnect:
    """A DISCONNECT body (empty before MQTT 5, and may be in it)."""
    reason = r.byte("reason code") if version >= 5 and r.left else 0
    props = r.properties(version) if version >= 5 and r.left else Properties()
    return Disconnect(reason, props)


# -- encoding: (fixed-header byte 1, body) ------------------------------------------------------


def encode_connect(packet: Connect) -> tuple[int, bytes]:
    """A CONNECT, in the version it names."""
    name = b"MQIsdp" if packet.version == 3 else b"MQTT"
    flags = int(packet.clean_start) << 1
    if packet.will:
        flags |= 0x04 | (packet.will.qos << 3) | (int(packet.will.retain) << 5)
    if packet.password is not None:
        flags |= 0x40
    if packet.username is not None:
        flags |= 0x80
    body = binary(name) + bytes([packet.version, flags]) + struct.pack("!H", packet.keep_alive)
    body += properties_of(packet.properties, packet.version) + text(packet.client_id)
    if packet.will:
        body += properties_of(packet.will.properties, packet.version)
        body += text(packet.will.topic) + binary(packet.will.payload)
    if packet.username is not None:
        body += text(packet.username)
    if packet.password is not None:
        body += binary(packet.password)
    return 0x10, body


def encode_connack(packet: ConnAck, version: int) -> tuple[int, bytes]:
    """A CONNACK."""
    return 0x20, bytes([int(packet.session_present), packet.reason]) + properties_of(
        packet.properties, version
    )


def encode_disconnect(packet: Disconnect, version: int) -> tuple[int, bytes]:
    """A DISCONNECT: empty unless MQTT 5 has a reason or properties to say."""
    body = b""
    if version >= 5 and (packet.reason or packet.properties != Properties()):
        body = bytes([packet.reason]) + encode_properties(packet.properties)
    return 0xE0, body
