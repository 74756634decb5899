"""What a Handle server says about itself: its HS_SITE and the address it publishes there."""

from __future__ import annotations

from taihu.identifiers.wire import Interface, ServerRecord, ServiceType, SiteInfo, Transport
from taihu.identifiers.wire.messages import PROTOCOL_VERSION
from taihu.settings import Settings

__all__ = ["published_address", "site_for"]


def site_for(address: str, port: int, serial: int = 1, public_key: bytes = b"") -> SiteInfo:
    """The HS_SITE of a single-server node reachable at ``address:port`` over TCP and UDP.

    It advertises protocol 2.11 (sessions, HS_PUBKEY answers, signed replies); ``public_key``
    is the server's key (``pubkeys.encode_public_key``) that certified replies are signed with.
    """
    interfaces = (
        Interface(ServiceType.ADMIN_AND_QUERY, Transport.TCP, port),
        Interface(ServiceType.QUERY, Transport.UDP, port),
    )
    server = ServerRecord(1, address, interfaces, public_key)
    return SiteInfo(servers=(server,), serial=serial, protocol=PROTOCOL_VERSION)


def published_address(settings: Settings) -> str:
    """The IP address this node publishes in its HS_SITE (the bound host unless set apart)."""
    host = settings.handle.host
    return settings.handle.address or (
        "127.0.0.1" if host in {"", "0.0.0.0", "::"} else host  # noqa: S104 - compared, not bound
    )
