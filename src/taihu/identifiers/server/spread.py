"""Spreading one client's UDP datagrams over the workers sharing the Handle port (Linux).

The kernel hands a datagram to one socket of an ``SO_REUSEPORT`` group by hashing the client's
address and port, so a resolver that sends everything from one socket (as a caching resolver
or udpload does) reaches one process only. A classic BPF program attached to the group picks
the socket instead: its return value is an index into the group, whose order is bind order.
The supervisor binds first (index 0) and each worker joins after it (1..N), so

    ld rand | ld cpu     A = a random number, or the CPU receiving the datagram
    mod #N               A = A % N          (N: the number of workers)
    add #1               A = A + 1          (skip the supervisor: it serves TCP and the relay)
    ret a                the socket at index A

An index past the group's end (a worker not started yet, or one that stopped: the kernel moves
the last socket into the slot freed, so the group stays dense) makes the kernel fall back to the
hash, which then may pick any process, the supervisor's included: nothing is lost meanwhile.
"""

from __future__ import annotations

import ctypes
import logging
import socket
import sys
from typing import Literal

__all__ = ["Spread", "spread_datagrams"]

log = logging.getLogger("taihu.identifiers.handle")

Spread = Literal["random", "cpu", "hash"]

SO_ATTACH_REUSEPORT_CBPF = 51  # asm-generic/socket.h, since Linux 4.5
_SKF_AD_OFF = -0x1000  # the ancillary loads sit at negative offsets (linux/filter.h)
_SKF_AD_CPU = 36
_SKF_AD_RANDOM = 56
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_ALU_MOD_K = 0x94  # BPF_ALU | BPF_MOD | BPF_K
_ALU_ADD_K = 0x04  # BPF_ALU | BPF_ADD | BPF_K
_RET_A = 0x16  # BPF_RET | BPF_A


class _SockFilter(ctypes.Structure):
    _fields_ = (
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    )


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter)))


def _program(how: Spread, workers: int) -> list[tuple[int, int]]:
    """The (code, k) instructions choosing a worker's socket for each datagram."""
    ancillary = _SKF_AD_RANDOM if how == "random" else _SKF_AD_CPU
    return [
        (_LD_W_ABS, (_SKF_AD_OFF + ancillary) & 0xFFFF_FFFF),
        (_ALU_MOD_K, workers),
        (_ALU_ADD_K, 1),
        (_RET_A, 0),
    ]


def spread_datagrams(udp: socket.socket, workers: int, how: Spread) -> bool:
    """Have the kernel spread ``udp``'s group over ``workers`` sockets; whether it does.

    ``hash`` leaves the kernel's choice by client address and port. Elsewhere than on Linux, or
    on a kernel refusing the program, the hash stays too, and the log says so once.
    """
    if how == "hash" or workers < 1:
        return False
    if not sys.platform.startswith("linux"):
        log.info("Handle UDP: spreading one client over the workers needs Linux; by client "
                 "address and port instead")  # fmt: skip
        return False
    instructions = _program(how, workers)
    array = (_SockFilter * len(instructions))(
        *(_SockFilter(code, 0, 0, k) for code, k in instructions)
    )
    fprog = _SockFprog(len(instructions), ctypes.cast(array, ctypes.POINTER(_SockFilter)))
    try:
        udp.setsockopt(socket.SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, bytes(fprog))
    except OSError as exc:
        log.info("Handle UDP: the kernel refused the spreading program (%s); by client "
                 "address and port instead", exc)  # fmt: skip
        return False
    return True
