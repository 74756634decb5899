"""The wall display (数据大屏): the district on one dark 1920x1080 screen, refreshed live.

The page draws the figures it is served with, then listens to ``/wall/live`` (server-sent
events): the device hub's figures every few seconds (devices online, message rate) and the
whole district (resumption, townships, chains, warnings, identifiers, cases, programme titles
held) every half minute.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Permission, Principal
from taihu.core import DbSession, Runtime, RuntimeDep
from taihu.devices import HubFigures, hub_figures
from taihu.programmes import titles_held
from taihu.web.console import Signed, guard, render_page
from taihu.web.pages.district import district_figures, live_figures

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
LIVE_SECONDS = 2.0  # how often the hub's figures are sent
FULL_EVERY = 15  # every this many live updates, the whole district is sent again


def _hub(request: Request) -> HubFigures:
    return hub_figures(request)  # across processes with a bus


def _event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def _wall_figures(
    session: AsyncSession, runtime: Runtime, principal: Principal, hub: HubFigures
) -> dict[str, Any]:
    """The district's figures and the programme titles its enterprises hold (星级上云 累计 …)."""
    figures = await district_figures(session, runtime, principal, hub)
    today = runtime.clock.now().astimezone(runtime.settings.console.zone).date()
    figures["titles"] = await titles_held(session, principal, today=today)
    return figures


@router.get("/wall", response_class=HTMLResponse, dependencies=guard(Permission.VIEW_WALL))
async def wall(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    """The wall display, drawn from the figures of this moment."""
    figures = await _wall_figures(session, runtime, who.principal, _hub(request))
    return render_page(request, "wall.html", who, figures=figures, live_seconds=LIVE_SECONDS)


async def _full(runtime: Runtime, principal: Principal, hub: HubFigures) -> dict[str, Any]:
    # A unit of work of its own: the request's session ends when the stream starts.
    async with runtime.db.session() as session:
        return await _wall_figures(session, runtime, principal, hub)


@router.get("/wall/live", dependencies=guard(Permission.VIEW_WALL))
async def wall_live(request: Request, who: Signed, runtime: RuntimeDep) -> StreamingResponse:
    """Server-sent events: ``live`` (hub figures and message rate) and ``district`` (everything)."""
    hub = _hub(request)
    principal = who.principal

    async def events() -> AsyncIterator[bytes]:
        ticks = 0
        last = (time.monotonic(), hub.overview()["messages"])
        yield b"retry: 5000\n\n"
        while not await request.is_disconnected():
            if ticks % FULL_EVERY == 0:
                yield _event("district", await _full(runtime, principal, hub))
            await asyncio.sleep(LIVE_SECONDS)
            ticks += 1
            figures = live_figures(hub)
            now = time.monotonic()
            figures["rate"] = round((figures["messages"] - last[1]) / max(now - last[0], 1e-3), 1)
            last = (now, figures["messages"])
            yield _event("live", figures)

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"cache-control": "no-store"}
    )
