"""Binary encodings of handle values and of the HS_SITE / HS_VLIST data formats (RFC 3651, 3652).

A handle value on the wire (RFC 3652 2.2.3)::

    Index        u32
    Timestamp    u32   POSIX seconds of the last change
    TTLType      u8    0 relative, 1 absolute
    TTL          u32
    Permission   u8    0x08 admin read, 0x04 admin write, 0x02 public read, 0x01 public write
    Type         UTF8-String
    Data         u32 length + bytes   (HS_ADMIN data: see ``handle.values.encode_admin``)
    References   u32 count + (UTF8-String handle, u32 index)*

HS_SITE data (RFC 3651 3.2.2)::

    Version u16 | ProtocolVersion u8 major, u8 minor | SerialNumber u16 | PrimaryMask u8
    HashOption u8 | HashFilter UTF8-String | Attributes u32 count + (UTF8 name, UTF8 value)*
    Servers u32 count + ServerRecord*

    ServerRecord: ServerID u32 | Address 16 bytes (IPv4 as ::ffff:a.b.c.d) | PublicKey u32 + bytes
                  | Interfaces u32 count + (ServiceType u8, TransmissionProtocol u8, Port u32)*

HS_VLIST data (RFC 3651 3.2.4): u32 count + (UTF8-String handle, u32 index)*.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum, IntFlag

from taihu.identifiers.handle import HandleValue, HandleValueError, TtlType
from taihu.identifiers.wire.buffer import Reader, WireDecodeError, Writer

__all__ = [
    "SITE_TYPE",
    "VLIST_TYPE",
    "Interface",
    "PrimaryMask",
    "ServerRecord",
    "ServiceType",
    "SiteInfo",
    "Transport",
    "decode_site",
    "decode_value",
    "decode_values",
    "decode_vlist",
    "encode_site",
    "encode_value",
    "encode_values",
    "encode_vlist",
    "read_site",
    "read_value",
    "read_values",
    "write_value",
]

SITE_TYPE = "HS_SITE"
VLIST_TYPE = "HS_VLIST"
_MAX_DATA = 64 * 1024
_MAX_TEXT = 64 * 1024
# Smallest encodings, used to refuse list counts that cannot fit in the bytes left.
_MIN_VALUE = 4 + 4 + 1 + 4 + 1 + 4 + 4 + 4
_MIN_REFERENCE = 4 + 4
_MIN_SERVER = 4 + 16 + 4 + 4
_MIN_INTERFACE = 1 + 1 + 4

_ADMIN_READ, _ADMIN_WRITE, _PUBLIC_READ, _PUBLIC_WRITE = 0x08, 0x04, 0x02, 0x01


def _stamp(value: datetime | None) -> int:
    return 0 if value is None else max(0, min(int(value.timestamp()), 2**32 - 1))


def write_value(out: Writer, value: HandleValue) -> None:
    """Append one handle value in its wire form."""
    permissions = (
        (_ADMIN_READ if value.admin_read else 0)
        | (_ADMIN_WRITE if value.admin_write else 0)
        | (_PUBLIC_READ if value.public_read else 0)
        | (_PUBLIC_WRITE if value.public_write else 0)
    )
    out.u32(value.index).u32(_stamp(value.timestamp)).u8(int(value.ttl_type)).u32(value.ttl)
    out.u8(permissions).text(value.type).blob(value.data).u32(len(value.references))
    for ref_index, ref_handle in value.references:
        out.text(ref_handle).u32(ref_index)


def read_value(reader: Reader) -> HandleValue:
    """Read one handle value; a value that breaks a Handle System rule is a decode error."""
    index = reader.u32("value index")
    stamp = reader.u32("value timestamp")
    ttl_type = reader.u8("TTL type")
    ttl = reader.u32("TTL")
    permissions = reader.u8("permissions")
    type_ = reader.text("value type", 256)
    data = reader.blob("value data", _MAX_DATA)
    references = []
    for _ in range(reader.count(_MIN_REFERENCE, "references")):
        ref_handle = reader.text("reference handle", 2048)
        references.append((reader.u32("reference index"), ref_handle))
    if ttl_type not in (0, 1):
        raise WireDecodeError(f"TTL type {ttl_type} is neither 0 (relative) nor 1 (absolute)")
    try:
        return HandleValue(
            index=index,
            type=type_,
            data=data,
            ttl=ttl,
            ttl_type=TtlType(ttl_type),
            timestamp=datetime.fromtimestamp(stamp, UTC) if stamp else None,
            admin_read=bool(permissions & _ADMIN_READ),
            admin_write=bool(permissions & _ADMIN_WRITE),
            public_read=bool(permissions & _PUBLIC_READ),
            public_write=bool(permissions & _PUBLIC_WRITE),
            references=tuple(references),
        )
    except HandleValueError as exc:
        raise WireDecodeError(f"invalid handle value: {exc}") from exc


def encode_value(value: HandleValue) -> bytes:
    """One handle value in its wire form."""
    out = Writer()
    write_value(out, value)
    return out.getvalue()


def decode_value(data: bytes) -> HandleValue:
    """The inverse of ``encode_value``; trailing bytes are refused."""
    reader = Reader(data)
    value = read_value(reader)
    reader.end("handle value")
    return value


def encode_values(values: tuple[HandleValue, ...] | list[HandleValue]) -> bytes:
    """A ValueList: u32 count and the values."""
    out = Writer().u32(len(values))
    for value in values:
        write_value(out, value)
    return out.getvalue()


def read_values(reader: Reader) -> tuple[HandleValue, ...]:
    """Read a ValueList."""
    return tuple(read_value(reader) for _ in range(reader.count(_MIN_VALUE, "value list")))


def decode_values(data: bytes) -> tuple[HandleValue, ...]:
    """The inverse of ``encode_values``."""
    reader = Reader(data)
    values = read_values(reader)
    reader.end("value list")
    return values


def encode_vlist(references: tuple[tuple[int, str], ...]) -> bytes:
    """HS_VLIST data from ``(index, handle)`` pairs."""
    out = Writer().u32(len(references))
    for index, handle in references:
        out.text(handle).u32(index)
    return out.getvalue()


def decode_vlist(data: bytes) -> tuple[tuple[int, str], ...]:
    """``(index, handle)`` pairs of HS_VLIST data."""
    reader = Reader(data)
    pairs = []
    for _ in range(reader.count(_MIN_REFERENCE, "HS_VLIST")):
        handle = reader.text("HS_VLIST handle", 2048)
        pairs.append((reader.u32("HS_VLIST index"), handle))
    reader.end("HS_VLIST")
    return tuple(pairs)


class PrimaryMask(IntFlag):
    """HS_SITE primary mask bits."""

    MULTI_PRIMARY = 0x40
    PRIMARY = 0x80


class ServiceType(IntEnum):
    """What a server interface accepts."""

    RESERVED = 0
    ADMIN = 1
    QUERY = 2
    ADMIN_AND_QUERY = 3


class Transport(IntEnum):
    """The transmission protocol of a server interface."""

    UDP = 0
    TCP = 1
    HTTP = 2
    HTTPS = 3


@dataclass(frozen=True, slots=True)
class Interface:
    """One service interface of a server: what, over which transport, on which port."""

    service: ServiceType
    transport: Transport
    port: int


@dataclass(frozen=True, slots=True)
class ServerRecord:
    """One server of a site."""

    server_id: int
    address: str
    interfaces: tuple[Interface, ...]
    public_key: bytes = b""

    def __post_init__(self) -> None:
        try:
            ipaddress.ip_address(self.address)
        except ValueError as exc:
            raise ValueError(f"server address {self.address!r} is not an IP address") from exc


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """HS_SITE: the servers of one site and how to reach them."""

    servers: tuple[ServerRecord, ...]
    serial: int = 1
    version: int = 1
    protocol: tuple[int, int] = (2, 1)
    primary: PrimaryMask = PrimaryMask.PRIMARY
    hash_option: int = 0
    hash_filter: str = ""
    attributes: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def _address_bytes(address: str) -> bytes:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv4Address):
        return bytes(12) + ip.packed  # the RFC puts IPv4 in the last four bytes, zeros before
    return ip.packed


def _address_text(raw: bytes) -> str:
    if raw[:12] == bytes(12) or raw[:12] == bytes(10) + b"\xff\xff":
        return str(ipaddress.IPv4Address(raw[12:]))
    return str(ipaddress.IPv6Address(raw))


def encode_site(site: SiteInfo) -> bytes:
    """HS_SITE data."""
    out = Writer().u16(site.version).u8(site.protocol[0]).u8(site.protocol[1]).u16(site.serial)
    out.u8(int(site.primary)).u8(site.hash_option).text(site.hash_filter)
    out.u32(len(site.attributes))
    for name, value in site.attributes:
        out.text(name).text(value)
    out.u32(len(site.servers))
    for server in site.servers:
        out.u32(server.server_id).raw(_address_bytes(server.address)).blob(server.public_key)
        out.u32(len(server.interfaces))
        for interface in server.interfaces:
            out.u8(int(interface.service)).u8(int(interface.transport)).u32(interface.port)
    return out.getvalue()


def _read_interface(reader: Reader) -> Interface:
    service, transport, port = reader.u8("service type"), reader.u8("transport"), reader.u32("port")
    try:
        return Interface(ServiceType(service), Transport(transport), port)
    except ValueError as exc:
        raise WireDecodeError(f"unknown service interface {service}/{transport}") from exc


def read_site(reader: Reader) -> SiteInfo:
    """Read HS_SITE data."""
    version = reader.u16("site version")
    protocol = (reader.u8("protocol major"), reader.u8("protocol minor"))
    serial = reader.u16("site serial")
    primary = PrimaryMask(reader.u8("primary mask") & 0xC0)
    hash_option = reader.u8("hash option")
    hash_filter = reader.text("hash filter", _MAX_TEXT)
    attributes = []
    for _ in range(reader.count(8, "site attributes")):
        name = reader.text("attribute name", _MAX_TEXT)
        attributes.append((name, reader.text("attribute value", _MAX_TEXT)))
    servers = []
    for _ in range(reader.count(_MIN_SERVER, "servers")):
        server_id = reader.u32("server id")
        address = _address_text(reader.raw(16, "server address"))
        public_key = reader.blob("server public key", _MAX_DATA)
        interfaces = tuple(
            _read_interface(reader) for _ in range(reader.count(_MIN_INTERFACE, "interfaces"))
        )
        servers.append(ServerRecord(server_id, address, interfaces, public_key))
    return SiteInfo(
        servers=tuple(servers),
        serial=serial,
        version=version,
        protocol=protocol,
        primary=primary,
        hash_option=hash_option,
        hash_filter=hash_filter,
        attributes=tuple(attributes),
    )


def decode_site(data: bytes) -> SiteInfo:
    """The inverse of ``encode_site``."""
    reader = Reader(data)
    site = read_site(reader)
    reader.end("HS_SITE")
    return site
