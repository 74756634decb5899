"""The Handle server: UDP and TCP listeners and the dispatch of decoded requests.

``listeners`` (sockets, the plain resolution path, flushing counts), ``dispatch``
(HandleDispatcher: one request, one reply), ``operations`` (what each admin opcode does),
``conversations`` (challenges awaiting an answer).
"""

from taihu.identifiers.server.listeners import (
    HandleServer,
    bind_handle,
    handle_server_for,
    published_address,
    site_for,
)

__all__ = [
    "HandleServer",
    "bind_handle",
    "handle_server_for",
    "published_address",
    "site_for",
]
