"""The Handle listeners' sockets: TCP and UDP on one port, and UDP in every worker process.

``bind_handle`` binds the port (TCP and UDP). Under `taihu serve --workers N` the UDP socket is
shared (SO_REUSEPORT) and every worker joins it with ``bind_shared_udp``:

    client ─► UDP port (SO_REUSEPORT: one socket per process, the kernel picks one by the
              │         client's address and port)
              ├─ supervisor's socket ─► answered there, like a single process
              └─ a worker's socket ─► stateless request (resolution, site info, …): answered there
                                     └─ request that needs challenge or session state ─► relayed
                                        over a Unix datagram socket to the supervisor, which
                                        answers from its own socket on the same port

With challenges and sessions in memory (SQLite's default), they live in one process, the
supervisor's (it also serves TCP, where admin tools talk). A Handle.Net client answers a
challenge from a new socket, so its answer may reach another worker than its request did:
relaying every such datagram to the supervisor keeps the exchange whole wherever the kernel
delivers it. With them in the database (``shared_state``; PostgreSQL's default) nothing is
relayed: every worker, and every resolver process on any machine, answers them itself.

The relay socket sits in ``DATA_DIR/run/handle/`` (mode 0700): only this user's processes may
send through it, so nobody else can have the supervisor answer to an address of their choosing.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import struct
from pathlib import Path
from typing import Any

from taihu.identifiers.server.operations import ADMIN_OPCODES
from taihu.identifiers.wire import Message, OpCode

__all__ = [
    "DatagramSocket",
    "Relay",
    "bind_handle",
    "bind_relay",
    "bind_shared_udp",
    "needs_state",
    "relay_path",
    "unpack",
]

_STATEFUL = ADMIN_OPCODES | {
    OpCode.CHALLENGE_RESPONSE,
    OpCode.SESSION_SETUP,
    OpCode.SESSION_TERMINATE,
    OpCode.SESSION_EXCHANGEKEY,
}
_UDP_BUFFER = 4 * 1024 * 1024
_BATCH = 64  # datagrams read at one wake-up at most
_HEAD = struct.Struct(">HHI")  # port, host length, IPv6 scope id
_SUN_PATH_MAX = 107  # sockaddr_un's path, its terminating NUL aside


def bind_handle(
    host: str, port: int, *, shared: bool = False
) -> tuple[socket.socket, socket.socket]:
    """TCP and UDP sockets bound to the same port (``port`` 0: a free one); ``OSError`` if busy.

    ``shared``: the UDP socket lets worker processes join it (``bind_shared_udp``).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _attempt in range(20 if port == 0 else 1):
        tcp = socket.socket(family, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind((host, port))
            chosen = tcp.getsockname()[1]
            udp = socket.socket(family, socket.SOCK_DGRAM)
            if shared:
                udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            # A deep receive buffer rides out bursts between event-loop turns (kernel-capped).
            udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _UDP_BUFFER)
            udp.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _UDP_BUFFER)
            try:
                udp.bind((host, chosen))
            except OSError as exc:
                udp.close()
                if port == 0 and exc.errno == errno.EADDRINUSE:
                    tcp.close()
                    continue  # the free TCP port is taken on UDP: pick another
                raise
        except OSError:
            tcp.close()
            raise
        tcp.listen(1024)
        tcp.setblocking(False)  # noqa: FBT003 - the socket API takes a bare flag
        udp.setblocking(False)  # noqa: FBT003 - the socket API takes a bare flag
        return tcp, udp
    raise OSError(errno.EADDRINUSE, "no port free on both TCP and UDP")


def relay_path(data_dir: Path) -> Path:
    """Where the supervisor of ``data_dir``'s server takes relayed datagrams."""
    return data_dir.resolve() / "run" / "handle" / "udp-relay.sock"


def needs_state(message: Message) -> bool:
    """Whether answering ``message`` needs a pending challenge or a session (the supervisor's)."""
    return message.header.opcode in _STATEFUL or message.envelope.session_id != 0


def bind_shared_udp(host: str, port: int) -> socket.socket:
    """A UDP socket joining the SO_REUSEPORT group on ``port``; ``OSError`` if it cannot."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    udp = socket.socket(family, socket.SOCK_DGRAM)
    try:
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _UDP_BUFFER)
        udp.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _UDP_BUFFER)
        udp.bind((host, port))
    except OSError:
        udp.close()
        raise
    udp.setblocking(False)  # noqa: FBT003 - the socket API takes a bare flag
    return udp


def bind_relay(path: Path) -> socket.socket | None:
    """The supervisor's relay socket at ``path`` (a stale one replaced); ``None`` if too long."""
    if len(os.fsencode(path)) > _SUN_PATH_MAX:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _UDP_BUFFER)
    sock.bind(str(path))
    sock.setblocking(False)  # noqa: FBT003 - the socket API takes a bare flag
    return sock


def unpack(relayed: bytes) -> tuple[bytes, Any]:
    """A relayed datagram and the client address it came from; ``ValueError`` if malformed."""
    port, length, scope = _HEAD.unpack_from(relayed)
    start = _HEAD.size + length
    host = relayed[_HEAD.size : start].decode("ascii")
    addr: Any = (host, port, 0, scope) if ":" in host else (host, port)
    return relayed[start:], addr


class Relay:
    """A worker's way to the supervisor: datagrams sent on with the client's address."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setblocking(False)  # noqa: FBT003 - the socket API takes a bare flag

    def send(self, data: bytes, addr: Any) -> bool:
        """Pass ``data`` from ``addr`` on; ``False`` when the supervisor cannot take it now."""
        host = str(addr[0]).encode("ascii")
        scope = int(addr[3]) if len(addr) > 3 else 0  # an IPv6 address: (host, port, flow, scope)
        head = _HEAD.pack(int(addr[1]), len(host), scope)
        try:
            self._sock.sendto(head + host + data, self.path)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ENOENT, errno.ECONNREFUSED, errno.ENOBUFS):
                raise
            return False  # dropped like a datagram on a full socket: the client asks again
        return True

    def close(self) -> None:
        """Close the sending socket."""
        self._sock.close()


class DatagramSocket:
    """Reads the datagrams waiting at each wake-up as one batch; replies go straight out.

    asyncio's datagram transport reads one datagram per event-loop turn and queues sends; on
    the resolution hot path a batch read and a direct ``sendto`` save a turn and a copy each,
    and a batch lets the cache misses of many requests share one database query.
    """

    def __init__(self, sock: socket.socket, on_datagrams: Any) -> None:
        self.sock = sock
        self._on_datagrams = on_datagrams
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._ready)

    def _ready(self) -> None:
        receive = self.sock.recvfrom
        batch: list[tuple[bytes, Any]] = []
        for _ in range(_BATCH):
            try:
                batch.append(receive(65535))
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                continue  # an ICMP error from an earlier reply's peer: nothing to read
        if batch:
            self._on_datagrams(batch)

    def sendto(self, data: bytes, addr: Any) -> None:
        """Send one datagram; dropped when the socket buffer is full (the client resends)."""
        try:  # noqa: SIM105 - contextlib.suppress costs 0.5 µs, once per reply
            self.sock.sendto(data, addr)
        except OSError:
            pass

    def close(self) -> None:
        """Stop reading and close the socket."""
        self._loop.remove_reader(self.sock.fileno())
        self.sock.close()
