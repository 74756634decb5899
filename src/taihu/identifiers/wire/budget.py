"""What an unverified UDP source may be sent: a byte budget per source, and "ask over TCP".

A UDP request's source address is whatever the sender wrote, so a reply can be aimed at a third
party (reflection); the bytes a reply carries beyond the request's are the amplification. Two
bounds hold it, both enforced by the listener:

    per reply    a reply larger than the limit is not sent; ``tcp_refusal`` replaces it: RC 2
                 ERROR, truncated flag set, a short reason (about 90 bytes)
    per source   ``SourceBudget``: a token bucket of reply bytes per source (IPv4 address, IPv6
                 /64), refilled at a steady rate up to a burst; a source past it gets the same
                 refusal cut to no more bytes than its request (never an amplification), or
                 nothing when even that is too long

Why that reply: the Handle.Net Java client (``net.handle.hdllib.HandleResolver``) turns an RC 2
answer into a ``HandleException`` (``sendRequestToInterface``: ``RC_ERROR`` -> ``SERVER_ERROR``),
and ``sendRequestToSite`` / ``sendRequestToServer`` catch any exception from one protocol and try
the next of ``preferredProtocols`` (UDP, TCP, HTTP by default): it asks again over TCP at once.
It ignores the truncated flag (it joins pieces by MessageLength alone); Taihu's client keys on
that flag and asks again over TCP. Silence would work too, but only after the Java client's UDP
retries (0.5 + 1 + 1.5 s).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from taihu.identifiers.wire.codec import encode_message
from taihu.identifiers.wire.messages import (
    ENVELOPE_SIZE,
    HEADER_SIZE,
    OPCODE_BY_NUMBER,
    Envelope,
    ErrorBody,
    Header,
    Message,
    OpCode,
    OpFlag,
    ResponseCode,
    decode_envelope,
    op_flags,
)

__all__ = ["REFUSAL_OVERHEAD", "SourceBudget", "source_key", "tcp_refusal"]

# Envelope, header, the message string's length and the empty credential: a refusal's fixed part.
REFUSAL_OVERHEAD = ENVELOPE_SIZE + HEADER_SIZE + 4 + 4
_SLOTS = 1 << 16
_V4_MAPPED = bytes(10) + b"\xff\xff"


def source_key(host: str) -> str | bytes:
    """Who a source address counts as: the IPv4 address itself, an IPv6 address's /64."""
    if ":" not in host:
        return host
    try:
        packed = socket.inet_pton(socket.AF_INET6, host.split("%", 1)[0])
    except OSError:
        return host
    # One host owns a whole /64 in IPv6; an IPv4-mapped address is still one IPv4 host.
    return packed if packed[:12] == _V4_MAPPED else packed[:8]


class SourceBudget:
    """Token buckets of bytes per source, in a fixed table: O(1) per reply, bounded memory.

    Each bucket is kept as one number, the time it will be full again (GCRA, the generic cell
    rate algorithm: the same bucket, one read and one write per reply). Sources are hashed into
    65,536 slots (Python's per-process hash seed keeps collisions out of a sender's control);
    two sources sharing a slot share a budget, which errs on the safe side.
    """

    __slots__ = ("_clock", "_full", "_per_byte", "_tolerance")

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._per_byte = 1.0 / rate  # seconds one byte takes to come back
        self._tolerance = burst / rate  # how far ahead of now a bucket may be spent
        self._clock = clock
        self._full = [0.0] * _SLOTS

    def take(self, host: str, size: int) -> bool:
        """Spend ``size`` bytes of ``host``'s budget; ``False`` (nothing spent) when short."""
        slot = hash(host if ":" not in host else source_key(host)) & (_SLOTS - 1)
        now = self._clock()
        full = self._full[slot]
        if full < now:  # noqa: PLR1730 - cheaper than max() on the UDP hot path
            full = now
        full += size * self._per_byte
        if full - now > self._tolerance:
            return False
        self._full[slot] = full
        return True


def tcp_refusal(reply: bytes, reason: str, limit: int | None = None) -> bytes | None:
    """RC 2 ERROR flagged truncated, in place of the encoded ``reply``: "ask again over TCP".

    It keeps the reply's request and session ids, versions, opcode, site serial and expiration;
    ``reason`` is cut so the whole is at most ``limit`` bytes (``None`` if even an empty one is
    longer). The request digest is left out (RRDG cleared): a refusal proves nothing anyway.
    """
    room = len(reason) if limit is None else limit - REFUSAL_OVERHEAD
    if room < 0:
        return None
    envelope = decode_envelope(reply)
    head = reply[ENVELOPE_SIZE : ENVELOPE_SIZE + HEADER_SIZE]
    opcode = OPCODE_BY_NUMBER.get(int.from_bytes(head[0:4], "big"), OpCode.RESERVED)
    flags = int.from_bytes(head[8:12], "big") & ~int(OpFlag.RRDG)
    header = Header(
        opcode,
        ResponseCode.ERROR,
        op_flags(flags),
        site_serial=int.from_bytes(head[12:14], "big"),
        expiration=int.from_bytes(head[16:20], "big"),
    )
    refusal = Envelope(
        envelope.request_id,
        session_id=envelope.session_id,
        version=envelope.version,
        suggested=envelope.suggested,
        truncated=True,
    )
    text = reason.encode("ascii", "replace")[:room].decode("ascii")
    return encode_message(Message(refusal, header, ErrorBody(text)))
