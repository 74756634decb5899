"""Console pages of the device hub: device list, device detail (live), hub overview."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from taihu.alarms import AlarmService
from taihu.core import DbSession, Id, NotFound, PageNumber, RuntimeDep
from taihu.devices import Device, DeviceHub, DeviceService, hub_figures, reject_summary
from taihu.enterprises import EnterpriseService
from taihu.web.console import Signed, render_page
from taihu.web.i18n import N_, gettext_
from taihu.web.pages import device_forms
from taihu.web.pages.alarm_feed import PRESENCE_LABELS

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
router.include_router(device_forms.router)  # first: /devices/new is not a device id
_PAGE_SIZE = 50
_HOUR, _DAY = 3_600_000, 86_400_000
_HEARTBEAT = 15.0  # seconds between SSE comments, so proxies keep the stream open
# Why the hub refused a message (the reasons of taihu.devices.rejects).
REJECT_LABELS = {
    "malformed": N_("Malformed payload"),
    "topic": N_("Unknown topic"),
    "too_large": N_("Payload too large"),
    "not_authorized": N_("Not authorized"),
    "too_many_points": N_("More data points than the limit allows"),
    "internal": N_("Internal error"),
    "rate_limited": N_("Over the rate limit"),
    "not_stored": N_("Store unavailable"),
}


def _hub(request: Request) -> DeviceHub:
    hub: DeviceHub = request.app.state.device_hub
    return hub


def _state(hub: DeviceHub, device_id: int, online: set[int]) -> dict[str, Any]:
    """What this process knows of a device; ``online``: those held here or by another process."""
    state = hub.devices.get(device_id)
    return {
        "online": device_id in online,
        "sessions": hub.connected(device_id),
        "malformed": state.malformed if state else 0,
        "rate_limited": state.rate_limited if state else 0,
        "last_activity": datetime.fromtimestamp(state.last_activity, UTC)
        if state and state.last_activity
        else None,
        "errors": [(datetime.fromtimestamp(at, UTC), text) for at, text in reversed(state.errors)]
        if state
        else [],
    }


@router.get("/devices", response_class=HTMLResponse)
async def devices_page(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    page: PageNumber = 1,
) -> HTMLResponse:
    hub = _hub(request)
    rows, total = await DeviceService(session, runtime.clock).list_devices(
        who.principal, search=q, limit=_PAGE_SIZE, offset=(page - 1) * _PAGE_SIZE
    )
    names = {}
    for enterprise_id in {d.enterprise_id for d in rows}:
        names[enterprise_id] = (
            await EnterpriseService(session, runtime.clock).get(who.principal, enterprise_id)
        ).name
    overview = hub_figures(request).overview() if who.principal.sees_all_enterprises else None
    presence = await AlarmService(session, runtime.clock).presence_of([d.id for d in rows])
    online = await hub.online([d.id for d in rows])
    return render_page(
        request, "devices/list.html", who, presence=presence,
        presence_labels={k: gettext_(v) for k, v in PRESENCE_LABELS.items()},
        rows=[(d, names[d.enterprise_id], _state(hub, d.id, online)) for d in rows], total=total,
        readable={d.id for d in rows if DeviceService.may_read_data(who.principal, d)},
        q=q or "", page=page, pages=max(1, -(-total // _PAGE_SIZE)), overview=overview,
    )  # fmt: skip


@router.get("/devices/{device_id}", response_class=HTMLResponse)
async def device_page(
    request: Request,
    device_id: Id,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    key: Annotated[str | None, Query(max_length=255)] = None,
) -> HTMLResponse:
    hub = _hub(request)
    registry = DeviceService(session, runtime.clock)
    try:
        device = await registry.get_for_data(who.principal, device_id)
    except NotFound:
        return render_page(request, "denied.html", who, status_code=404)
    profile = await registry.profile(device.profile_id)
    latest = await hub.store.latest(device.id)
    # A boolean is an int to Python, but its hourly average means nothing: numbers only, in the
    # profile's order first.
    numeric = [k for k, s in latest.items()
               if isinstance(s.value, int | float) and not isinstance(s.value, bool)]  # fmt: skip
    order = [k["key"] for k in profile.telemetry_keys]
    numeric.sort(key=lambda k: (order.index(k) if k in order else len(order), k))
    chosen = key if key in numeric else (numeric[0] if numeric else None)
    units = {k["key"]: k.get("unit", "") for k in profile.telemetry_keys}
    chart: dict[str, Any] | None = None
    if chosen:
        now = int(runtime.clock.now().timestamp() * 1000)
        start = now - _DAY  # the last 24 hours, to this minute
        series = await hub.store.aggregate(
            [device.id], [chosen], start - start % _HOUR, now + 1, _HOUR, "AVG"
        )
        points = series.get(chosen, [])
        chart = {
            "key": chosen, "unit": units.get(chosen, ""),
            "start": datetime.fromtimestamp(start / 1000, UTC).isoformat(),
            "end": datetime.fromtimestamp(now / 1000, UTC).isoformat(),
            "times": [datetime.fromtimestamp(s.ts / 1000, UTC).isoformat() for s in points],
            "values": [round(float(s.value), 3) for s in points],
        }  # fmt: skip
    return render_page(
        request, "devices/detail.html", who,
        device=device, profile=profile, units=units,
        state=_state(hub, device.id, await hub.online([device.id])),
        latest=[(k, s.value, datetime.fromtimestamp(s.ts / 1000, UTC)) for k, s in latest.items()],
        attributes=await registry.attributes(device.id), chart=chart, numeric=numeric,
        rejects=await reject_summary(session, device.id),
        reject_labels={k: gettext_(v) for k, v in REJECT_LABELS.items()},
        may_manage=who.principal.is_admin or device.enterprise_id in who.principal.enterprise_ids,
        active_tokens=await registry.active_tokens(device.id),
        children=await _children(hub, session, device) if device.kind == "gateway" else [],
    )  # fmt: skip


async def _children(hub: DeviceHub, session: DbSession, gateway: Device) -> list[dict[str, Any]]:
    """A gateway's child devices with their state and their last activity (or last data)."""
    rows = await session.scalars(
        sa.select(Device).where(Device.gateway_id == gateway.id).order_by(Device.name)
    )
    children, listed = [], list(rows)
    online = await hub.online([child.id for child in listed])
    for child in listed:
        state = _state(hub, child.id, online)
        stamps = [s.ts for s in (await hub.store.latest(child.id)).values()]
        last_data = datetime.fromtimestamp(max(stamps) / 1000, UTC) if stamps else None
        seen = [t for t in (state["last_activity"], last_data) if t is not None]
        children.append({"device": child, "online": state["online"],
                         "last": max(seen) if seen else None})  # fmt: skip
    return children


@router.get("/devices/{device_id}/live")
async def device_live(
    request: Request, device_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> StreamingResponse:
    """Server-sent events: the device's values as they are stored."""
    await DeviceService(session, runtime.clock).get_for_data(who.principal, device_id)
    hub = _hub(request)

    async def events() -> AsyncIterator[bytes]:
        updates = hub.watch()
        try:
            next_update = asyncio.ensure_future(anext(updates))
            while not await request.is_disconnected():
                done, _ = await asyncio.wait({next_update}, timeout=_HEARTBEAT)
                if not done:
                    yield b": keep-alive\n\n"
                    continue
                changed_id, values = next_update.result()
                next_update = asyncio.ensure_future(anext(updates))
                if changed_id == device_id:
                    yield b"data: " + orjson.dumps(values) + b"\n\n"
            next_update.cancel()
        finally:
            with contextlib.suppress(Exception):
                await updates.aclose()

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"cache-control": "no-store"}
    )
