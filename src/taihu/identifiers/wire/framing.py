"""Framing over UDP and TCP: 512-byte datagram pieces, their reassembly, length-framed TCP reads.

A UDP message larger than ``UDP_PACKET_SIZE`` goes as several datagrams, each with a full
envelope whose SequenceNumber counts 0..n and whose MessageLength is that of the *whole*
message (as the Handle.Net server does); a receiver joins them by request id and sequence.
"""

from __future__ import annotations

import asyncio

from taihu.identifiers.wire.buffer import WireDecodeError
from taihu.identifiers.wire.messages import (
    ENVELOPE_SIZE,
    MAX_MESSAGE_BYTES,
    Envelope,
    decode_envelope,
)

__all__ = [
    "UDP_PACKET_SIZE",
    "Reassembler",
    "datagram_bytes",
    "read_tcp_message",
    "split_datagrams",
]

UDP_PACKET_SIZE = 512
_PIECE = UDP_PACKET_SIZE - ENVELOPE_SIZE


def datagram_bytes(length: int) -> int:
    """The bytes ``split_datagrams`` sends for a message of ``length``: each piece's envelope."""
    if length <= UDP_PACKET_SIZE:
        return length
    return length + ENVELOPE_SIZE * ((length - ENVELOPE_SIZE - 1) // _PIECE)


def split_datagrams(message: bytes, size: int = UDP_PACKET_SIZE) -> list[bytes]:
    """An encoded message as datagrams of at most ``size`` bytes, each with its own envelope."""
    if len(message) <= size:
        return [message]
    envelope = decode_envelope(message)
    payload = message[ENVELOPE_SIZE:]
    piece = size - ENVELOPE_SIZE
    datagrams = []
    for sequence, start in enumerate(range(0, len(payload), piece)):
        head = Envelope(
            request_id=envelope.request_id,
            session_id=envelope.session_id,
            sequence=sequence,
            version=envelope.version,
            suggested=envelope.suggested,
        )
        datagrams.append(head.encode(len(payload)) + payload[start : start + piece])
    return datagrams


class Reassembler:
    """Joins the datagrams of one reply; ``add`` returns the payload once every piece is in."""

    __slots__ = ("_expected", "_length", "_pieces", "request_id")

    def __init__(self, request_id: int) -> None:
        self.request_id = request_id
        self._pieces: dict[int, bytes] = {}
        self._length: int | None = None
        self._expected = 0

    def add(self, datagram: bytes) -> tuple[Envelope, bytes] | None:
        """Take one datagram; the envelope and whole payload when complete, else ``None``."""
        envelope = decode_envelope(datagram)
        if envelope.request_id != self.request_id:
            return None  # a late reply to an earlier request
        if envelope.length > MAX_MESSAGE_BYTES:
            raise WireDecodeError(f"reply of {envelope.length} bytes is over {MAX_MESSAGE_BYTES}")
        if self._length is None:
            self._length = envelope.length
            self._expected = max(1, -(-envelope.length // _PIECE))
        elif envelope.length != self._length:
            raise WireDecodeError("the pieces of one reply disagree on its length")
        if envelope.sequence >= self._expected:
            raise WireDecodeError(f"piece {envelope.sequence} of a {self._expected}-piece reply")
        self._pieces[envelope.sequence] = datagram[ENVELOPE_SIZE:]
        if len(self._pieces) < self._expected:
            return None
        payload = b"".join(self._pieces[i] for i in range(self._expected))
        if len(payload) != self._length:
            raise WireDecodeError(f"reassembled {len(payload)} bytes, expected {self._length}")
        return envelope, payload


async def read_tcp_message(
    reader: asyncio.StreamReader, limit: int = MAX_MESSAGE_BYTES
) -> tuple[Envelope, bytes] | None:
    """One message from a stream: the envelope and its payload; ``None`` at a clean end of stream.

    The length is checked against ``limit`` before the payload is read, so a lying length costs
    nothing; a stream cut short raises ``asyncio.IncompleteReadError``.
    """
    try:
        head = await reader.readexactly(ENVELOPE_SIZE)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise
    envelope = decode_envelope(head)
    if envelope.length > limit:
        raise WireDecodeError(f"message of {envelope.length} bytes is over {limit}")
    return envelope, await reader.readexactly(envelope.length)
