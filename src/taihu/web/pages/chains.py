"""Console pages of the industry map.

Chains, one chain's map and gaps, what-if disruption, the enterprise page with its suppliers and
buyers, and the registry upload.

Analyses are for the staff roles; an enterprise user sees the enterprise page of their own
enterprises only (the services enforce both).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse

from taihu.accounts import Permission
from taihu.chains import (
    AnalysisOut,
    ChainService,
    ChainSpec,
    DisruptionOut,
    Ring,
    Suggestion,
    Supply,
    Thresholds,
    analyze_chain,
    buyer_sourcing,
    level,
    sourcing,
)
from taihu.core import (
    DbSession,
    Id,
    InvalidInput,
    Message,
    NotFound,
    PermissionDenied,
    RuntimeDep,
    read_upload,
)
from taihu.enterprises import (
    Enterprise,
    EnterpriseService,
    import_registry,
    industry_classes,
    townships,
)
from taihu.web.console import Signed, guard, render_page
from taihu.web.i18n import N_, current_language, gettext_
from taihu.web.pages.solutions import enterprise_panels

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
STATUS_LABELS = {
    "missing": N_("Missing link"),
    "chokepoint": N_("Chokepoint"),
    "weak": N_("Weak link"),
    "ok": N_("Covered"),
}
RING_LABELS = {
    Ring.DISTRICT.value: N_("District"),
    Ring.CITY.value: N_("City"),
    Ring.PROVINCE.value: N_("Province"),
    Ring.CHINA.value: N_("Rest of China"),
    Ring.ABROAD.value: N_("Abroad"),
}
BUYER_ROWS = 30
STAGE_LABELS = {
    "upstream": N_("Upstream"),
    "midstream": N_("Midstream"),
    "downstream": N_("Downstream"),
}


def _chain_name(name_zh: str, name_en: str) -> str:
    """A chain or segment name in the reader's language."""
    return name_zh if current_language.get().startswith("zh") else (name_en or name_zh)


def _in_language(suggestion: Suggestion, names: dict[str, str]) -> Suggestion:
    """The suggestion with the segment it names in the page language (segments are bilingual)."""
    said = suggestion.reason
    name = names.get(suggestion.target)
    if name is None or "segment" not in said.params:
        return suggestion
    return replace(suggestion, reason=Message(said.id, **{**said.params, "segment": name}))


@router.get(
    "/industry-map", dependencies=guard(Permission.VIEW_INDUSTRY_MAP), response_class=HTMLResponse
)
async def industry_map(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    try:
        graph = await ChainService(session, runtime.clock).graph(who.principal)
    except PermissionDenied:
        return render_page(request, "denied.html", who, status_code=403)
    rows = []
    for chain in await ChainService(session, runtime.clock).templates.current():
        analysis = analyze_chain(graph, chain, centrality=False)
        counts = dict.fromkeys(STATUS_LABELS, 0)
        for segment in analysis.segments:
            counts[segment.status] += 1
        rows.append({
            "key": chain.key, "name": _chain_name(chain.name, chain.name_en),
            "version": chain.version,
            "completeness": analysis.completeness, "counts": counts,
            "district": analysis.rings.get("district"), "suggestions": len(analysis.suggestions),
        })  # fmt: skip
    labels = {k: gettext_(v) for k, v in STATUS_LABELS.items()}
    return render_page(request, "chains/index.html", who, chains=rows, status_labels=labels)


@router.get(
    "/industry-map/disruption",
    dependencies=guard(Permission.VIEW_INDUSTRY_MAP),
    response_class=HTMLResponse,
)
async def disruption_page(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    down: Annotated[str, Query(max_length=20_000)] = "",
) -> HTMLResponse:
    codes = _down_list(down)
    result = None
    error = ""
    if codes:
        try:
            outcome, graph = await ChainService(session, runtime.clock).disrupt(
                who.principal, codes
            )
            result = DisruptionOut.of(outcome, graph)
        except PermissionDenied:
            return render_page(request, "denied.html", who, status_code=403)
        except InvalidInput as exc:
            error = exc.text(gettext_)
    elif not who.principal.sees_all_enterprises:
        return render_page(request, "denied.html", who, status_code=403)
    return render_page(request, "chains/disruption.html", who, down=down, result=result,
                       error=error)  # fmt: skip


def _down_list(text: str) -> list[str]:
    """Credit codes and outside suppliers' names, one a line or comma-separated.

    A line of codes separated by spaces is split too; a name keeps its spaces.
    """
    found = []
    for piece in text.replace("\uff0c", ",").replace("\n", ",").split(","):
        words = piece.split()
        if len(words) > 1 and all(len(w) == 18 and w.isascii() and w.isalnum() for w in words):
            found.extend(words)
        elif words:
            found.append(" ".join(words))
    return found


@router.get(
    "/industry-map/{chain_key}",
    dependencies=guard(Permission.VIEW_INDUSTRY_MAP),
    response_class=HTMLResponse,
)
async def chain_page(
    request: Request, chain_key: str, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    service = ChainService(session, runtime.clock)
    try:
        chain = await service.templates.get(chain_key)
        analysis, graph = await service.analyze(who.principal, chain_key, template=chain)
    except PermissionDenied:
        return render_page(request, "denied.html", who, status_code=403)
    except NotFound:
        return render_page(request, "denied.html", who, status_code=404)
    out = AnalysisOut.of(analysis, graph, chain, gettext_)
    segment_names = {s.key: _chain_name(s.name, s.name_en) for s in chain.segments}
    # The buyers to look at first: the most concentrated, then the most bought outside.
    buyers = sorted(out.buyers, key=lambda b: (-b.max_hhi, -b.outside_share, b.buyer.key))
    return render_page(
        request, "chains/chain.html", who,
        chain=chain, chain_name=_chain_name(chain.name, chain.name_en), analysis=out,
        chart=_chart(out, chain), buyers=buyers[:BUYER_ROWS], buyer_count=len(buyers),
        band_labels=_band_labels(),
        # The analysis' own suggestions: they carry their reason as a message to translate.
        suggestions=[_in_language(s, segment_names) for s in analysis.suggestions],
        segment_names=segment_names,
        status_labels={k: gettext_(v) for k, v in STATUS_LABELS.items()},
        ring_labels={k: gettext_(v) for k, v in RING_LABELS.items()},
        stage_labels={k: gettext_(v) for k, v in STAGE_LABELS.items()},
    )  # fmt: skip


BAND_LABELS = {"high": N_("high"), "moderate": N_("moderate"), "low": N_("low"), "none": "—"}


def _band_labels() -> dict[str, str]:
    return {k: gettext_(v) if v != "—" else v for k, v in BAND_LABELS.items()}


def _concentration(purchases: list[Any]) -> dict[str, Any]:
    """How an enterprise buys each input: suppliers, HHI, out-of-region share, with bands."""
    limits = Thresholds()
    pairs = sourcing(
        Supply(x.supplier_key, "buyer", x.input_category, x.annual_value, Ring(x.ring),
               x.substitutable)
        for x in purchases
    )  # fmt: skip
    rows = [
        {"input": p.input, "suppliers": p.suppliers, "value": p.value, "hhi": p.hhi,
         "hhi_level": level(p.hhi, limits.hhi_moderate, limits.hhi_high),
         "outside_share": p.outside_share,
         "outside_level": level(p.outside_share, limits.outside_moderate, limits.outside_high)}
        for p in pairs
    ]  # fmt: skip
    totals = buyer_sourcing(pairs)
    outside = totals[0].outside_share if totals else None
    return {
        "inputs": rows, "outside_share": outside,
        "outside_level": level(outside, limits.outside_moderate, limits.outside_high),
        "limits": limits,
    }  # fmt: skip


def _chart(analysis: AnalysisOut, chain: ChainSpec) -> dict[str, Any]:
    """A graph of the chain's segments, left to right by stage, coloured by status.

    Links follow what each segment supplies; a template that names none is drawn in order.
    """
    colours = {"missing": "#c62828", "chokepoint": "#ef6c00", "weak": "#f9a825", "ok": "#2e7d32"}
    columns = {"upstream": 0, "midstream": 1, "downstream": 2}
    rows: dict[str, int] = {}
    nodes = []
    for segment in analysis.segments:
        column = columns[segment.stage]
        row = rows.get(segment.stage, 0)
        rows[segment.stage] = row + 1
        nodes.append({
            "id": segment.key, "name": _chain_name(segment.name, segment.name_en),
            "x": column * 300, "y": row * 90, "value": segment.local_count,
            "status": gettext_(STATUS_LABELS[segment.status]),
            "itemStyle": {"color": colours[segment.status]},
            "symbolSize": 28 + min(segment.local_count, 40),
        })  # fmt: skip
    bought = {s.key: s.purchased_value for s in analysis.segments}
    links = [
        {"source": s.key, "target": target, "value": bought.get(s.key, 0.0)}
        for s in chain.segments
        for target in s.supplies
    ] or [
        {"source": a.key, "target": b.key, "value": b.purchased_value}
        for a, b in zip(analysis.segments, analysis.segments[1:], strict=False)
    ]
    return {"nodes": nodes, "links": links, "local": gettext_("Local enterprises")}


@router.get(
    "/enterprises/import",
    dependencies=guard(Permission.IMPORT_ENTERPRISES),
    response_class=HTMLResponse,
)
async def import_form(request: Request, who: Signed) -> HTMLResponse:
    if not who.principal.sees_all_enterprises:
        return render_page(request, "denied.html", who, status_code=403)
    return render_page(
        request, "chains/import.html", who, import_key="enterprises", report=None, error=""
    )


@router.post(
    "/enterprises/import",
    dependencies=guard(Permission.IMPORT_ENTERPRISES),
    response_class=HTMLResponse,
)
async def import_upload(
    request: Request,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File()],
    csrf: Annotated[str, Form(max_length=128)] = "",
    skip_invalid: Annotated[bool, Form()] = False,
) -> HTMLResponse:
    if csrf != who.csrf_token:
        return HTMLResponse(gettext_("Missing or wrong CSRF token."), status_code=403)
    try:
        content = await read_upload(file)
        report = await import_registry(
            session, runtime.clock, who.principal, file.filename or "upload.csv", content,
            skip_invalid=skip_invalid,
        )  # fmt: skip
    except PermissionDenied:
        return render_page(request, "denied.html", who, status_code=403)
    except InvalidInput as exc:
        return render_page(request, "chains/import.html", who, import_key="enterprises",
                           report=None, error=exc.text(gettext_), status_code=400)  # fmt: skip
    return render_page(
        request, "chains/import.html", who, import_key="enterprises", report=report, error=""
    )


@router.get("/enterprises/{enterprise_id}", response_class=HTMLResponse)
async def enterprise_page(
    request: Request, enterprise_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    try:
        enterprise = await EnterpriseService(session, runtime.clock).get(
            who.principal, enterprise_id
        )
    except NotFound:
        return render_page(request, "denied.html", who, status_code=404)
    except PermissionDenied:
        return render_page(request, "denied.html", who, status_code=403)
    edges, _total = await ChainService(session, runtime.clock).edges(
        who.principal, enterprise_id=enterprise_id, limit=500
    )
    tags, _count = await ChainService(session, runtime.clock).tags(
        who.principal, enterprise_id=enterprise_id
    )
    # A buyer's name is known to its supplier; the page names them whoever reads it.
    buyer_ids = sorted({x.buyer_id for x in edges if x.supplier_id == enterprise.id})
    query = sa.select(Enterprise.id, Enterprise.name).where(Enterprise.id.in_(buyer_ids))
    names = dict((await session.execute(query)).all())
    town = townships().get(enterprise.township_code or "")
    industry = industry_classes().get(enterprise.industry_code or "")
    purchases = [x for x in edges if x.buyer_id == enterprise.id]
    return render_page(
        request, "chains/enterprise.html", who, e=enterprise,
        township=town.name(current_language.get()) if town else "",
        industry=industry.name(current_language.get()) if industry else "",
        concentration=_concentration(purchases), band_labels=_band_labels(),
        suppliers=purchases,
        buyers=[x for x in edges if x.supplier_id == enterprise.id],
        tags=tags, ring_labels={k: gettext_(v) for k, v in RING_LABELS.items()}, names=names,
        **await enterprise_panels(session, runtime, who, enterprise.id),
    )  # fmt: skip
