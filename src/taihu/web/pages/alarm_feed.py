"""Console pages of one's alarm notifications (a live list, subscriptions) and device presence."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taihu.alarms import SEVERITIES, AlarmService, SubscriptionService
from taihu.core import DbSession, Id, RuntimeDep, TaihuError
from taihu.web.console import Signed, render_page
from taihu.web.i18n import N_, gettext_
from taihu.web.pages.alarms import SEVERITY_LABELS

__all__ = ["PRESENCE_LABELS", "router"]

router = APIRouter(include_in_schema=False)
PRESENCE_LABELS = {
    "connected": N_("Connected"),
    "disconnected": N_("Disconnected"),
    "inactive": N_("Inactive"),
}
EVENT_LABELS = {"created": N_("Raised"), "escalated": N_("Escalated"), "cleared": N_("Cleared")}
CHANNEL_LABELS = {
    "console": N_("Console"),
    "webhook": N_("Webhook"),
    "email": N_("E-mail"),
    "sms": N_("SMS"),
}


def _labels() -> dict[str, Any]:
    return {
        "event_labels": {k: gettext_(v) for k, v in EVENT_LABELS.items()},
        "severity_labels": {k: gettext_(v) for k, v in SEVERITY_LABELS.items()},
        "channel_labels": {k: gettext_(v) for k, v in CHANNEL_LABELS.items()},
    }


@router.get("/alarms/notifications", response_class=HTMLResponse)
async def notifications_page(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    """One's console notifications (refreshed in place) and subscriptions."""
    subs = SubscriptionService(session, runtime.clock)
    return render_page(
        request, "alarms/notifications.html", who, items=await subs.inbox(who.principal),
        subscriptions=await subs.mine(who.principal), severities=SEVERITIES, **_labels(),
    )  # fmt: skip


@router.get("/alarms/notifications/items", response_class=HTMLResponse)
async def notification_items(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    """The list alone, for htmx to swap in every few seconds."""
    items = await SubscriptionService(session, runtime.clock).inbox(who.principal)
    return render_page(request, "alarms/_notification_items.html", who, items=items, **_labels())


@router.post("/alarms/notifications/{action}", response_model=None)
async def notification_action(
    request: Request, action: str, who: Signed, session: DbSession, runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
    channel: Annotated[str, Form(max_length=16)] = "console",
    min_severity: Annotated[str, Form(max_length=16)] = "warning",
    target: Annotated[str, Form(max_length=500)] = "",
    subscription_id: Annotated[str, Form(max_length=10)] = "",
) -> Response:  # fmt: skip
    """Subscribe, unsubscribe, or mark everything read."""
    if not secrets.compare_digest(csrf, who.csrf_token):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    subs = SubscriptionService(session, runtime.clock)
    secret = ""
    try:
        if action == "subscribe":
            sub = await subs.subscribe(
                who.principal, channel=channel, min_severity=min_severity, target=target
            )
            secret = sub.secret
        elif action == "unsubscribe" and subscription_id.isdigit():
            await subs.unsubscribe(who.principal, int(subscription_id))
        elif action == "read":
            await subs.mark_read(who.principal)
        else:
            return render_page(request, "denied.html", who, status_code=404)
    except TaihuError as exc:
        return render_page(request, "denied.html", who, status_code=exc.status,
                           message=exc.text(gettext_))  # fmt: skip
    if secret:  # shown once: the receiver needs it to check signatures
        return render_page(request, "alarms/secret.html", who, secret=secret)
    return RedirectResponse("/alarms/notifications", status_code=303)


@router.get("/presence", response_class=HTMLResponse)
async def presence_page(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep,
    state: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:  # fmt: skip
    """Devices by presence, with counts per state."""
    state = state if state in PRESENCE_LABELS else None
    alarms = AlarmService(session, runtime.clock)
    return render_page(
        request, "alarms/presence.html", who, state=state or "",
        counts=await alarms.presence_counts(who.principal),
        rows=await alarms.presence_list(who.principal, state),
        labels={k: gettext_(v) for k, v in PRESENCE_LABELS.items()},
    )  # fmt: skip


@router.get("/presence/{device_id}", response_class=HTMLResponse)
async def presence_history(
    request: Request, device_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    """A device's presence and its changes."""
    try:
        state, since, events = await AlarmService(session, runtime.clock).presence(
            who.principal, device_id
        )
    except TaihuError:
        return render_page(request, "denied.html", who, status_code=404)
    return render_page(
        request, "alarms/presence_history.html", who, device_id=device_id, state=state,
        since=since, events=events, labels={k: gettext_(v) for k, v in PRESENCE_LABELS.items()},
    )  # fmt: skip
