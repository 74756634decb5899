"""The plain anonymous RESOLUTION, read and answered without the general codec: the UDP hot path.

Nearly every resolver sends the same shape of request, so the server reads it with one
``struct`` call and answers it with one, around a reply body rendered beforehand::

    envelope  2.x, MessageFlag without compressed/encrypted/truncated, sequence 0,
              MessageLength = the rest of this one datagram
    header    RESOLUTION, response code 0, OpFlags among AUTH RECU CACR KPAL PUBL DNRF,
              BodyLength = what the body below takes
    body      handle (u32 length, at most 2,048 bytes), no index, no type
    credential  none (u32 0)

``read_plain_resolution`` returns ``None`` for anything else (a filter, a request digest
``RRDG``, ``CERT``/``ENCR``, a credential, a piece of a longer request, garbage): the general
codec decodes those and the dispatcher decides. ``plain_reply`` gives the bytes ``codec`` would
encode for the same answer (a test holds the two together).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from taihu.identifiers.wire.messages import PROTOCOL_VERSION, OpCode, OpFlag, reply_version

__all__ = ["PlainResolution", "plain_reply", "read_plain_resolution"]

# Envelope (20 bytes), header (24 bytes) and the handle's length, in one call.
_REQUEST = struct.Struct(">BBHIIIIIIIHBBIII")
_REPLY = struct.Struct(">BBHIIIIIIIHBBII")
_FIXED = _REQUEST.size + 12  # the empty index list, type list and credential
_TAIL = bytes(12)
_NO_CREDENTIAL = bytes(4)
_MAX_HANDLE = 2048
_PLAIN_FLAGS = int(
    OpFlag.AUTH | OpFlag.RECU | OpFlag.CACR | OpFlag.KPAL | OpFlag.PUBL | OpFlag.DNRF
)
_NOT_PLAIN = ~_PLAIN_FLAGS & 0xFFFF_FFFF
_RESOLUTION = int(OpCode.RESOLUTION)
# Replies carry AUTH and RECU, echo KPAL (RRDG never reaches this path), and suggest 2.11.
_REPLY_FLAGS = int(OpFlag.AUTH | OpFlag.RECU)
_ECHOED = int(OpFlag.KPAL)
_SUGGESTED = (PROTOCOL_VERSION[0] << 8) | PROTOCOL_VERSION[1]
_MAJOR = PROTOCOL_VERSION[0]


class PlainResolution(NamedTuple):
    """What a plain RESOLUTION request says: its handle (as sent) and the ids to answer with."""

    handle: bytes
    request_id: int
    session_id: int
    reply_minor: int  # the minor version the reply speaks (``reply_version``)
    flags: int


def read_plain_resolution(data: bytes) -> PlainResolution | None:
    """The plain RESOLUTION request in one datagram, or ``None``: decode it with ``codec``."""
    size = len(data)
    if size < _FIXED:
        return None
    (major, minor, message_flag, session, request_id, sequence, length,
     opcode, code, flags, _serial, _recursion, _reserved, _expiration, body_length,
     handle_length) = _REQUEST.unpack_from(data)  # fmt: skip
    if (
        major != _MAJOR
        or message_flag & 0xE000
        or sequence
        or length != size - 20
        or opcode != _RESOLUTION
        or code
        or flags & _NOT_PLAIN
        or handle_length > _MAX_HANDLE
        or size != _FIXED + handle_length
        or body_length != handle_length + 12
        or data[-12:] != _TAIL
    ):
        return None
    suggested = ((message_flag >> 8) & 0x1F, message_flag & 0xFF)
    spoken = reply_version((major, minor), suggested if suggested[0] else (major, minor))
    return PlainResolution(data[48 : 48 + handle_length], request_id, session, spoken[1], flags)


def plain_reply(
    request: PlainResolution, code: int, site_serial: int, expiration: int, body: bytes
) -> bytes:
    """The reply to ``request``: response ``code`` and ``body`` (encoded, digest-free)."""
    head = _REPLY.pack(
        _MAJOR,
        request.reply_minor,
        _SUGGESTED,
        request.session_id,
        request.request_id,
        0,
        len(body) + 28,  # header (24) + body + empty credential (4)
        _RESOLUTION,
        code,
        _REPLY_FLAGS | (request.flags & _ECHOED),
        site_serial,
        0,
        0,
        expiration,
        len(body),
    )
    return head + body + _NO_CREDENTIAL
