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
    DisruptionOut,
    Ring,
    Suggestion,
    analyze_chain,
    chain_template,
    chain_templates,
    english_name,
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
STAGE_LABELS = {
    "upstream": N_("Upstream"),
    "midstream": N_("Midstream"),
    "downstream": N_("Downstream"),
}


def _chain_name(key: str, name_zh: str) -> str:
    return name_zh if current_language.get().startswith("zh") else english_name(key)


def _in_language(suggestion: Suggestion) -> Suggestion:
    """The suggestion with the segment it names in the page language (segments are bilingual)."""
    said = suggestion.message
    if said is None or "segment" not in said.params:
        return suggestion
    name = _chain_name(suggestion.target, str(said.params["segment"]))
    return replace(suggestion, message=Message(said.id, **{**said.params, "segment": name}))


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
    for chain in chain_templates():
        analysis = analyze_chain(graph, chain, centrality=False)
        counts = dict.fromkeys(STATUS_LABELS, 0)
        for segment in analysis.segments:
            counts[segment.status] += 1
        rows.append({
            "key": chain.key, "name": _chain_name(chain.key, chain.name),
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
    codes = [c for c in down.replace(",", " ").split() if c]
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


@router.get(
    "/industry-map/{chain_key}",
    dependencies=guard(Permission.VIEW_INDUSTRY_MAP),
    response_class=HTMLResponse,
)
async def chain_page(
    request: Request, chain_key: str, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    try:
        chain = chain_template(chain_key)
        analysis, graph = await ChainService(session, runtime.clock).analyze(
            who.principal, chain_key
        )
    except PermissionDenied:
        return render_page(request, "denied.html", who, status_code=403)
    except NotFound:
        return render_page(request, "denied.html", who, status_code=404)
    out = AnalysisOut.of(analysis, graph)
    return render_page(
        request, "chains/chain.html", who,
        chain=chain, chain_name=_chain_name(chain.key, chain.name), analysis=out,
        chart=_chart(out),
        # The analysis' own suggestions: they carry their reason as a message to translate.
        suggestions=[_in_language(s) for s in analysis.suggestions],
        segment_names={s.key: _chain_name(s.key, s.name) for s in chain.segments},
        status_labels={k: gettext_(v) for k, v in STATUS_LABELS.items()},
        ring_labels={k: gettext_(v) for k, v in RING_LABELS.items()},
        stage_labels={k: gettext_(v) for k, v in STAGE_LABELS.items()},
    )  # fmt: skip


def _chart(analysis: AnalysisOut) -> dict[str, Any]:
    """A graph of the chain's segments, left to right by stage, coloured by status."""
    colours = {"missing": "#c62828", "chokepoint": "#ef6c00", "weak": "#f9a825", "ok": "#2e7d32"}
    columns = {"upstream": 0, "midstream": 1, "downstream": 2}
    rows: dict[str, int] = {}
    nodes = []
    for segment in analysis.segments:
        column = columns[segment.stage]
        row = rows.get(segment.stage, 0)
        rows[segment.stage] = row + 1
        nodes.append({
            "id": segment.key, "name": _chain_name(segment.key, segment.name),
            "x": column * 300, "y": row * 90, "value": segment.local_count,
            "status": gettext_(STATUS_LABELS[segment.status]),
            "itemStyle": {"color": colours[segment.status]},
            "symbolSize": 28 + min(segment.local_count, 40),
        })  # fmt: skip
    links = [
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
    return render_page(request, "chains/import.html", who, report=None, error="")


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
        return render_page(request, "chains/import.html", who, report=None,
                           error=exc.text(gettext_), status_code=400)  # fmt: skip
    return render_page(request, "chains/import.html", who, report=report, error="")


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
    return render_page(
        request, "chains/enterprise.html", who, e=enterprise,
        township=town.name(current_language.get()) if town else "",
        industry=industry.name(current_language.get()) if industry else "",
        suppliers=[x for x in edges if x.buyer_id == enterprise.id],
        buyers=[x for x in edges if x.supplier_id == enterprise.id],
        tags=tags, ring_labels={k: gettext_(v) for k, v in RING_LABELS.items()}, names=names,
    )  # fmt: skip
