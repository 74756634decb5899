"""The process's one resolver: made on first use or at start-up, kept in the application state."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from taihu.core import Runtime
from taihu.identifiers.resolution.resolver import Resolver
from taihu.identifiers.resolution.warm import start_warming


def resolver_of(request: Request) -> Resolver:
    """The process's resolver (made on first use)."""
    return resolver_in(request.app.state)


def resolver_in(state: Any) -> Resolver:
    """The resolver kept in an application's state (made on first use)."""
    resolver: Resolver | None = getattr(state, "identifier_resolver", None)
    if resolver is None:
        runtime: Runtime = state.runtime
        resolver = new_resolver(runtime)
        state.identifier_resolver = resolver
    return resolver


def new_resolver(runtime: Runtime) -> Resolver:
    """A resolver sized by the node's settings."""
    handle = runtime.settings.handle
    return Resolver(
        runtime.db,
        runtime.clock,
        max_entries=handle.resolver_cache_entries,
        max_bytes=handle.resolver_cache_megabytes << 20,
    )


async def open_resolver(app: Any, runtime: Runtime) -> Resolver:
    """Make the process's resolver at start-up, with its PostgreSQL read pool (close it after)."""
    resolver = new_resolver(runtime)
    await resolver.open_pool()
    app.state.identifier_resolver = resolver
    if runtime.settings.handle.resolver_warm:
        start_warming(resolver)
    return resolver
