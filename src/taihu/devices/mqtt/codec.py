"""MQTT 3.1.1 and 5.0 control packets: typed values to bytes and back.

    fixed header   byte 1: packet type (4 bits) and flags (4 bits)
                   remaining length: variable byte integer, 1-4 bytes, at most 268,435,455
    variable header, payload: per packet type; MQTT 5 adds properties after the variable header

The rooms, lowest first: ``framing`` (the fixed header, fields, ``MalformedPacket``), then one
module per family of packets with its decoders and encoders: ``connection`` (CONNECT, CONNACK,
PINGREQ, PINGRESP, DISCONNECT), ``publish`` (PUBLISH, PUBACK and its kin), ``subscriptions``
(SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, topic filters). This module dispatches on the packet
type and is where the rest of the code imports the codec from.

Decoding never trusts a length it has not checked against the bytes it holds, so a hostile
packet costs at most the size the transport already accepted (``split_packet`` refuses a
remaining length over the caller's maximum before anything is buffered). QoS 2 is not part of
the device API and is refused by the transport, but its packets are recognised here.
"""

from __future__ import annotations

from taihu.devices.mqtt.connection import (
    ConnAck,
    Connect,
    Disconnect,
    PingReq,
    PingResp,
    Will,
    decode_connack,
    decode_connect,
    decode_disconnect,
    encode_connack,
    encode_connect,
    encode_disconnect,
)
from taihu.devices.mqtt.framing import (
    FIXED_FLAGS,
    MAX_REMAINING_LENGTH,
    MalformedPacket,
    PacketType,
    Reader,
    read_varint,
    split_packet,
    varint,
)
from taihu.devices.mqtt.publish import (
    PubAck,
    Publish,
    decode_puback,
    decode_publish,
    encode_puback,
    encode_publish,
)
from taihu.devices.mqtt.reasons import Reason
from taihu.devices.mqtt.subscriptions import (
    SubAck,
    Subscribe,
    Subscription,
    UnsubAck,
    Unsubscribe,
    check_topic_filter,
    decode_suback,
    decode_subscribe,
    decode_unsuback,
    decode_unsubscribe,
    encode_suback,
    encode_subscribe,
    encode_unsuback,
    encode_unsubscribe,
    topic_matches,
)

__all__ = [
    "MAX_REMAINING_LENGTH",
    "ConnAck",
    "Connect",
    "Disconnect",
    "MalformedPacket",
    "Packet",
    "PacketType",
    "PingReq",
    "PingResp",
    "PubAck",
    "Publish",
    "SubAck",
    "Subscribe",
    "Subscription",
    "UnsubAck",
    "Unsubscribe",
    "Will",
    "check_topic_filter",
    "decode_packet",
    "encode_packet",
    "read_varint",
    "split_packet",
    "topic_matches",
    "varint",
]

Packet = (
    Connect | ConnAck | Publish | PubAck | Subscribe | SubAck | Unsubscribe | UnsubAck | PingReq
    | PingResp | Disconnect
)  # fmt: skip
_PUBACKS = (PacketType.PUBACK, PacketType.PUBREC, PacketType.PUBREL, PacketType.PUBCOMP)


def decode_packet(  # noqa: PLR0912 - one branch per packet type reads best
    first: int, body: bytes, version: int
) -> Packet:
    """The packet with fixed-header byte ``first`` and ``body``; ``version`` is 4 or 5."""
    try:
        kind = PacketType(first >> 4)
    except ValueError:
        raise MalformedPacket("packet type 0 is reserved") from None
    flags = first & 0x0F
    if kind is not PacketType.PUBLISH and flags != FIXED_FLAGS.get(kind, 0):
        raise MalformedPacket(f"{kind.name} with reserved flags {flags:#06b}")
    r = Reader(body)
    packet: Packet
    if kind is PacketType.CONNECT:
        packet = decode_connect(r)
    elif kind is PacketType.PUBLISH:
        packet = decode_publish(r, flags, version)
    elif kind in _PUBACKS:
        packet = decode_puback(r, kind, version)
    elif kind is PacketType.SUBSCRIBE:
        packet = decode_subscribe(r, version)
    elif kind is PacketType.UNSUBSCRIBE:
        packet = decode_unsubscribe(r, version)
    elif kind is PacketType.CONNACK:
        packet = decode_connack(r, version)
    elif kind is PacketType.SUBACK:
        packet = decode_suback(r, version)
    elif kind is PacketType.UNSUBACK:
        packet = decode_unsuback(r, version)
    elif kind is PacketType.PINGREQ:
        packet = PingReq()
    elif kind is PacketType.PINGRESP:
        packet = PingResp()
    elif kind is PacketType.DISCONNECT:
        packet = decode_disconnect(r, version)
    else:
        raise MalformedPacket("AUTH is not supported", Reason.PROTOCOL_ERROR)
    if r.left:
        raise MalformedPacket(f"{r.left} bytes left over after {kind.name}")
    return packet


def encode_packet(packet: Packet, version: int) -> bytes:
    """The bytes of a packet for a connection speaking ``version`` (4 or 5)."""
    first, body = _encode(packet, version)
    return bytes([first]) + varint(len(body)) + body


def _encode(packet: Packet, version: int) -> tuple[int, bytes]:  # noqa: PLR0911 - per type
    # The packets a server sends most come first.
    if isinstance(packet, Publish):
        return encode_publish(packet, version)
    if isinstance(packet, PubAck):
        return encode_puback(packet, version)
    if isinstance(packet, ConnAck):
        return encode_connack(packet, version)
    if isinstance(packet, SubAck):
        return encode_suback(packet, version)
    if isinstance(packet, UnsubAck):
        return encode_unsuback(packet, version)
    if isinstance(packet, PingReq):
        return 0xC0, b""
    if isinstance(packet, PingResp):
        return 0xD0, b""
    if isinstance(packet, Disconnect):
        return encode_disconnect(packet, version)
    if isinstance(packet, Connect):
        return encode_connect(packet)
    if isinstance(packet, Subscribe):
        return encode_subscribe(packet, version)
    return encode_unsubscribe(packet, version)
