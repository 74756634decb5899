"""What a running process shares with its request handlers: settings, database, clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.core.clock import Clock, SystemClock
from taihu.core.db import Database
from taihu.settings import Settings

__all__ = ["DbSession", "Runtime", "RuntimeDep", "db_session", "get_runtime"]


@dataclass(slots=True)
class Runtime:
    """The process-wide services a request may use."""

    settings: Settings
    db: Database
    clock: Clock = field(default_factory=SystemClock)


def get_runtime(request: Request) -> Runtime:
    """The runtime the application was built with."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A unit of work per request, committed before the response is sent."""
    async with get_runtime(request).db.session() as session:
        yield session


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
# scope="function" commits before the response leaves, so a client never sees success for a
# write that then fails to commit.
DbSession = Annotated[AsyncSession, Depends(db_session, scope="function")]
