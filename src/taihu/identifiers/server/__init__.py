"""The Handle server: UDP and TCP listeners and the dispatch of decoded requests.

``listeners`` (sockets, the plain resolution path, flushing counts), ``dispatch``
(HandleDispatcher: one request, one reply), ``operations`` (what each admin opcode does),
``conversations`` (challenges awaiting an answer), ``ports`` (the port a running server bound).
"""

from taihu.identifiers.server.listeners import (
    HandleServer,
    bind_handle,
    handle_server_for,
    published_address,
    site_for,
)
from taihu.identifiers.server.ports import record_bound_port, running_port

__all__ = [
    "HandleServer",
    "bind_handle",
    "handle_server_for",
    "published_address",
    "record_bound_port",
    "running_port",
    "site_for",
]
