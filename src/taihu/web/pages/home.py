"""The console's home page, one per role.

The bureau (and admins) see the district at a glance; an enterprise user sees its own devices,
identifiers, cases and what is asked of it; the auditor sees recent security events and writes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from taihu.accounts import (
    AccountService,
    AuditFilter,
    Permission,
    Principal,
    Role,
    daily_activity,
    may,
    query_audit,
)
from taihu.alarms import AlarmService
from taihu.core import DbSession, RuntimeDep
from taihu.devices import DeviceHub, DeviceService, hub_figures
from taihu.enterprises import EnterpriseService
from taihu.identifiers import ApplicationService, StatisticsService
from taihu.monitor import CaseFilter, CaseService
from taihu.programmes import ProgrammeService, holders_per_programme
from taihu.reporting import ReportingService
from taihu.web.console import Signed, render_page
from taihu.web.i18n import gettext_
from taihu.web.pages.alarm_feed import PRESENCE_LABELS
from taihu.web.pages.district import district_figures
from taihu.web.pages.reporting import status_label

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_ACTIVITY_DAYS = 14
_IDENTIFIER_DAYS = 30
_DEVICES_SHOWN = 20
_EVENTS_SHOWN = 10


def _hub(request: Request) -> DeviceHub:
    hub: DeviceHub = request.app.state.device_hub
    return hub


async def _activity(session: DbSession, runtime: RuntimeDep) -> dict[str, Any]:
    zone = runtime.settings.console.zone
    activity = await daily_activity(session, zone, days=_ACTIVITY_DAYS, now=runtime.clock.now())
    return {
        "title": gettext_("Writes recorded in the audit log per day"),
        "days": [day.strftime("%m-%d") for day, _ in activity],
        "counts": [count for _, count in activity],
        "series": gettext_("Writes"),
    }


async def _enterprise_home(
    request: Request, session: DbSession, runtime: RuntimeDep, principal: Principal
) -> dict[str, Any]:
    hub = _hub(request)
    registry = DeviceService(session, runtime.clock)
    devices, device_total = await registry.list_devices(principal, limit=_DEVICES_SHOWN)
    online = await hub.online([device.id for device in devices])
    rows = []
    for device in devices:
        latest = await hub.store.latest(device.id)
        last = max((s.ts for s in latest.values()), default=None)
        state = hub.devices.get(device.id)
        rows.append({
            "device": device,
            "online": device.id in online,
            "last_data": datetime.fromtimestamp(last / 1000, UTC) if last else None,
            "last_activity": datetime.fromtimestamp(state.last_activity, UTC)
            if state and state.last_activity else None,
        })  # fmt: skip
    today = runtime.clock.now().astimezone(runtime.settings.console.zone).date()
    since = today - timedelta(days=_IDENTIFIER_DAYS - 1)
    counts = await StatisticsService(session).daily(principal, since, today)
    per_day: dict[str, list[int]] = {}
    for c in counts:
        pair = per_day.setdefault(c.day.strftime("%m-%d"), [0, 0])
        pair[0] += c.registrations
        pair[1] += c.resolutions
    days = [(since + timedelta(days=n)).strftime("%m-%d") for n in range(_IDENTIFIER_DAYS)]
    cases, open_cases = await CaseService(session, runtime.clock).find(
        principal, CaseFilter(open_only=True), limit=10
    )
    applications = await ApplicationService(session, runtime.clock).all(principal)
    names = {}
    for enterprise_id in sorted(principal.enterprise_ids):
        names[enterprise_id] = (
            await EnterpriseService(session, runtime.clock).get(principal, enterprise_id)
        ).name
    asked = [a for a in applications if a.status == "rejected"]
    return {
        "enterprise_names": list(names.values()),
        "devices": rows,
        "device_total": device_total,
        "online": sum(1 for r in rows if r["online"]),
        "registered_30d": sum(c.registrations for c in counts),
        "resolved_30d": sum(c.resolutions for c in counts),
        "identifier_chart": {
            "days": days,
            "series": [
                {
                    "name": gettext_("Registrations"),
                    "data": [per_day.get(d, [0, 0])[0] for d in days],
                },
                {
                    "name": gettext_("Resolutions"),
                    "data": [per_day.get(d, [0, 0])[1] for d in days],
                },
            ],
        },
        "cases": cases,
        "open_cases": open_cases,
        "pending_applications": [a for a in applications if a.status == "pending"],
        "rejected_applications": asked,
        "has_prefix": any(a.status == "approved" for a in applications),
    }


async def _auditor_home(session: DbSession) -> dict[str, Any]:
    refused, refused_total = await query_audit(
        session, AuditFilter(outcome="refused"), page=1, page_size=_EVENTS_SHOWN
    )
    writes, writes_total = await query_audit(
        session, AuditFilter(outcome="done"), page=1, page_size=_EVENTS_SHOWN
    )
    return {
        "events": refused, "events_total": refused_total,
        "writes": writes, "writes_all": writes_total,
    }  # fmt: skip


async def _honours(session: DbSession, runtime: RuntimeDep, principal: Any) -> list[Any]:
    """Each programme with how many enterprises hold its title today (programmes held only)."""
    held = await holders_per_programme(session, principal, today=runtime.clock.now().date())
    programmes = await ProgrammeService(session, runtime.clock).all()
    return [(p, held[p.key]) for p in programmes if p.key in held]


@router.get("/", response_class=HTMLResponse)
async def home(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    """The signed-in user's home: what their role looks at first."""
    principal = who.principal
    context: dict[str, Any] = {"chart": await _activity(session, runtime)}
    context["writes_total"] = sum(context["chart"]["counts"])
    if principal.role is Role.ENTERPRISE:
        context.update(
            kind="enterprise", **await _enterprise_home(request, session, runtime, principal)
        )
    elif principal.role is Role.AUDITOR:
        context.update(kind="auditor", **await _auditor_home(session))
        context["reviews"] = len(
            await ApplicationService(session, runtime.clock).all(principal, status="pending")
        )
    else:
        context.update(
            kind="district",
            district=await district_figures(session, runtime, principal, hub_figures(request)),
        )
        if principal.is_admin:
            summary = await AccountService(
                session, runtime.settings.security, runtime.clock
            ).summary()
            context.update(
                enterprises=await EnterpriseService(session, runtime.clock).count(),
                users=summary["users"], active_tokens=summary["active_tokens"],
            )  # fmt: skip
        context["report_deadlines"] = None
        if may(principal, Permission.FILE_REPORTS):
            today = runtime.clock.now().astimezone(runtime.settings.console.zone).date()
            context["report_deadlines"] = await ReportingService(session, runtime.clock).deadlines(
                principal, today, runtime.settings.reporting.upcoming_days
            )
            context["status_label"] = status_label
        if may(principal, Permission.VIEW_PROGRAMME_REGISTRY):
            context["honours"] = await _honours(session, runtime, principal)
    context["presence"] = await AlarmService(session, runtime.clock).presence_counts(principal)
    context["presence_labels"] = {k: gettext_(v) for k, v in PRESENCE_LABELS.items()}
    context["wall"] = may(principal, Permission.VIEW_WALL)
    return render_page(request, "home.html", who, **context)
