"""The Handle server: UDP and TCP listeners and the dispatch of decoded requests.

``listeners`` (UDP and TCP serving, the plain resolution path, flushing counts), ``dispatch``
(HandleDispatcher: one request, one reply), ``replies`` (envelope, header, digest and signature
of every reply), ``site`` (this server's HS_SITE), ``operations`` (what each admin opcode does),
``conversations`` (challenges awaiting an answer), ``sessions`` (Handle sessions),
``shared_state`` (both in the database, for every resolver process), ``ports`` (the port a
running server bound),
``sockets`` (binding the port, batch reads; UDP in every worker, stateful datagrams relayed to
one process),
``spread`` (one client's datagrams spread over the workers by a BPF program on the port).
"""

from taihu.identifiers.server.listeners import (
    HandleServer,
    handle_server_for,
    published_address,
    site_for,
)
from taihu.identifiers.server.ports import record_bound_port, running_port
from taihu.identifiers.server.sockets import (
    Relay,
    bind_handle,
    bind_relay,
    bind_shared_udp,
    relay_path,
)
from taihu.identifiers.server.spread import Spread, spread_datagrams

__all__ = [
    "HandleServer",
    "Relay",
    "Spread",
    "bind_handle",
    "bind_relay",
    "bind_shared_udp",
    "handle_server_for",
    "published_address",
    "record_bound_port",
    "relay_path",
    "running_port",
    "site_for",
    "spread_datagrams",
]
