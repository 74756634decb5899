"""The metrics listener of its own a process may have (``TAIHU_METRICS_PORT``).

A process with the ``api`` role answers ``/metrics`` on its HTTP port; one without (``taihu serve
--role ingest`` …) has no HTTP server, so this small listener lets Prometheus scrape it. With
several workers it answers the same sum as their ``/metrics``.
"""

from __future__ import annotations

import errno
import logging

from prometheus_client import start_http_server

from taihu.core.commands import console, fail
from taihu.core.metrics import metrics_registry
from taihu.settings import Settings

__all__ = ["listen_for_metrics"]

log = logging.getLogger("taihu.serve")


def listen_for_metrics(settings: Settings) -> None:
    """Serve ``/metrics`` on ``TAIHU_METRICS_PORT`` from a daemon thread, when it is set."""
    host, port = settings.metrics.host, settings.metrics.port
    if not port:
        return
    try:
        start_http_server(port, addr=host, registry=metrics_registry())
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            fail(
                f"metrics port {port} on {host} is already in use; choose another with the "
                "setting TAIHU_METRICS_PORT (0: no metrics listener)"
            )
        raise
    shown = f"[{host}]" if ":" in host else host
    console.print(f"Prometheus metrics on [bold]http://{shown}:{port}/metrics[/]", highlight=False)
    log.info("metrics listening on %s:%s", host, port, extra={"port": port})
