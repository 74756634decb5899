"""The district at a glance: the figures the bureau's home page and the wall display share.

Each figure comes from its context's public services, read as the signed-in principal (so the
services still decide what the role may see); this module only gathers and shapes them.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal
from taihu.chains import ChainService, analyze_chain
from taihu.core import Runtime
from taihu.devices import HubFigures
from taihu.identifiers import StatisticsService
from taihu.monitor import CaseFilter, CaseService, MonitorService
from taihu.web.i18n import current_language, gettext_

__all__ = ["district_figures", "live_figures"]

TREND_DAYS = 30
IDENTIFIER_DAYS = 30
_TOP = 10


def live_figures(hub: HubFigures) -> dict[str, Any]:
    """The device hub's figures of this moment, across processes (cheap: read from memory)."""
    overview = hub.overview()
    return {
        "devices_online": overview["connected_devices"],
        "messages": overview["messages"],
        "points": overview["points_written"],
    }


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


async def _monitor_figures(
    session: AsyncSession, runtime: Runtime, principal: Principal
) -> dict[str, Any]:
    monitor = MonitorService(session, runtime.settings.monitor, runtime.clock)
    today = runtime.clock.now().astimezone(runtime.settings.console.zone).date()
    # The day the monitor itself opens on (enough enterprises counted), not merely the latest.
    day: date = (await monitor.opening_day(principal, today)).day
    report = await monitor.index(principal, day, ["township"])
    _, series = await monitor.series(principal, day - timedelta(days=TREND_DAYS - 1), day)
    ratios = await monitor.enterprise_ratios(principal, day)
    warnings = sorted(
        (r for r in ratios if r[5] in ("red", "orange") and r[3] is not None and r[4]),
        key=lambda r: (r[3] or 0) / (r[4] or 1),
    )
    towns = sorted(
        ((name, v) for name, v in report.groups.get("township", {}).values()),
        key=lambda item: -(item[1].composite_index or 0),
    )
    d = report.district
    settings = runtime.settings.monitor
    return {
        "day": day.isoformat(),
        "counted": d.enterprises,
        "resumed": d.resumed,
        "resumption_rate": _percent(d.resumption_rate),
        "production_rate": _percent(d.production_rate),
        "composite_index": _percent(d.composite_index),
        "band": d.band,
        "bands": [
            _percent(settings.band_orange),
            _percent(settings.band_yellow),
            _percent(settings.band_green),
        ],
        "trend": {
            "days": [x.isoformat() for x, _ in series],
            "resumption": [_percent(v.resumption_rate) for _, v in series],
            "production": [_percent(v.production_rate) for _, v in series],
        },
        "townships": [
            {
                "name": name,
                "composite": _percent(v.composite_index),
                "resumption": _percent(v.resumption_rate),
                "band": v.band,
            }
            for name, v in towns
        ],
        "warnings": len(warnings),
        "warning_list": [
            {
                "id": r[0],
                "name": r[2],
                "ratio": round((r[3] or 0) / (r[4] or 1) * 100),
                "band": r[5],
            }
            for r in warnings[:_TOP]
        ],
    }


async def _chain_figures(
    session: AsyncSession, runtime: Runtime, principal: Principal
) -> dict[str, Any]:
    service = ChainService(session, runtime.clock)
    graph = await service.graph(principal)
    chinese = current_language.get().startswith("zh")
    chains: list[dict[str, Any]] = []
    alerts = 0
    for chain in await service.templates.current():  # the district's, its own ones included
        analysis = analyze_chain(graph, chain, centrality=False)
        weak = sum(1 for s in analysis.segments if s.status in ("missing", "chokepoint"))
        alerts += weak
        chains.append(
            {
                "key": chain.key,
                "name": chain.name if chinese else chain.name_en,
                "completeness": round(analysis.completeness * 100, 1),
                "alerts": weak,
            }
        )
    chains.sort(key=lambda c: -float(c["completeness"]))
    return {"chains": chains, "chain_alerts": alerts}


async def district_figures(
    session: AsyncSession, runtime: Runtime, principal: Principal, hub: HubFigures
) -> dict[str, Any]:
    """The district's figures for a staff principal: resumption, cases, devices, identifiers."""
    figures = await _monitor_figures(session, runtime, principal)
    figures.update(await _chain_figures(session, runtime, principal))
    cases = CaseService(session, runtime.clock)
    overdue, overdue_total = await cases.find(principal, CaseFilter(overdue=True), limit=_TOP)
    figures["overdue"] = overdue_total
    figures["overdue_list"] = [
        {
            "id": c.id,
            "title": c.title,
            "enterprise_id": c.enterprise_id,
            "deadline": c.deadline.isoformat() if c.deadline else "",
        }
        for c in overdue
    ]
    today = runtime.clock.now().astimezone(runtime.settings.console.zone).date()
    since = today - timedelta(days=IDENTIFIER_DAYS - 1)
    counts = await StatisticsService(session).daily(principal, since, today)
    figures["identifiers"] = {
        "registered_today": sum(c.registrations for c in counts if c.day == today),
        "registered_30d": sum(c.registrations for c in counts),
        "resolved_today": sum(c.resolutions for c in counts if c.day == today),
        "resolved_30d": sum(c.resolutions for c in counts),
    }
    figures.update(live_figures(hub))
    figures["labels"] = {
        "resumption": gettext_("Resumption rate"),
        "production": gettext_("Production rate"),
    }
    return figures
