"""Console pages of chain templates: the list, an editor of segments, and each one's history.

The editor is a plain form (one row per segment and a few empty rows to add more); saving
writes the template's next version through the chains context, which checks it and audits it.
An earlier version can be opened in the editor and saved again to bring it back.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taihu.chains import ChainService, ChainSpec, parse_template, template_document
from taihu.core import DbSession, NotFound, PermissionDenied, RuntimeDep, TaihuError
from taihu.web.console import Signed, render_page
from taihu.web.i18n import N_, current_language, gettext_

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
BLANK_ROWS = 3
MAX_ROWS = 60
STAGES = {"upstream": N_("Upstream"), "midstream": N_("Midstream"), "downstream": N_("Downstream")}
_FIELDS = ("key", "name_zh", "name_en", "stage", "supplies", "codes", "keywords")


def _name(name_zh: str, name_en: str) -> str:
    return name_zh if current_language.get().startswith("zh") else (name_en or name_zh)


def _text(value: str | list[str] | None) -> str:
    return value if isinstance(value, str) else " ".join(value or ())


def _rows(document: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The editor's rows: the template's segments as text, then empty rows to add more."""
    rows = []
    for s in (document or {}).get("segments", []):
        rows.append({
            "key": s.get("key", ""), "name_zh": s.get("name_zh", ""),
            "name_en": s.get("name_en", ""), "stage": s.get("stage", "upstream"),
            "critical": bool(s.get("critical")), "supplies": _text(s.get("supplies")),
            "codes": _text(s.get("codes")), "keywords": _text(s.get("keywords")),
        })  # fmt: skip
    blank: dict[str, Any] = dict.fromkeys(_FIELDS, "") | {"stage": "midstream", "critical": False}
    return rows + [dict(blank) for _ in range(BLANK_ROWS)]


def _editor(
    request: Request, who: Any, *, document: dict[str, Any] | None, creating: bool,
    history: list[Any], shown: int | None, current: int | None, error: str = "",
    status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    return render_page(
        request, "chains/template.html", who, document=document or {}, rows=_rows(document),
        creating=creating, history=history, shown=shown, current=current, error=error,
        stages={k: gettext_(v) for k, v in STAGES.items()}, status_code=status_code,
    )  # fmt: skip


@router.get("/industry-map/templates", response_class=HTMLResponse)
async def template_list(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    chains = await ChainService(session, runtime.clock).templates.current()
    rows = [
        {"key": c.key, "name": _name(c.name, c.name_en), "version": c.version,
         "segments": len(c.segments)}
        for c in chains
    ]  # fmt: skip
    return render_page(request, "chains/templates.html", who, chains=rows)


@router.get("/industry-map/templates/new", response_class=HTMLResponse)
async def template_new(request: Request, who: Signed) -> HTMLResponse:
    return _editor(request, who, document=None, creating=True, history=[], shown=None,
                   current=None)  # fmt: skip


@router.get("/industry-map/templates/{chain_key}", response_class=HTMLResponse)
async def template_page(
    request: Request,
    chain_key: str,
    who: Signed,
    session: DbSession,
    runtime: RuntimeDep,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> HTMLResponse:
    store = ChainService(session, runtime.clock).templates
    try:
        chain = await store.get(chain_key, version)
        current = (await store.get(chain_key)).version
        history = await store.history(chain_key)
    except NotFound:
        return render_page(request, "denied.html", who, status_code=404)
    return _editor(request, who, document=template_document(chain), creating=False,
                   history=history, shown=chain.version, current=current)  # fmt: skip


def _document(form: Any) -> dict[str, Any]:
    """The template as the form wrote it; rows without a key are the editor's empty rows."""
    segments = []
    count = min(int(form.get("rows", "0") or 0), MAX_ROWS + BLANK_ROWS)
    for i in range(count):
        cells = {f: str(form.get(f"s{i}-{f}", "")).strip() for f in _FIELDS}
        if not cells["key"] or form.get(f"s{i}-remove"):
            continue
        segments.append(cells | {"critical": bool(form.get(f"s{i}-critical"))})
    return {
        "key": str(form.get("key", "")).strip(), "name_zh": str(form.get("name_zh", "")),
        "name_en": str(form.get("name_en", "")), "segments": segments,
    }  # fmt: skip


@router.post("/industry-map/templates", response_class=HTMLResponse)
async def template_save(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> Response:
    form = await request.form()
    if not secrets.compare_digest(str(form.get("csrf", "")), who.csrf_token):
        return HTMLResponse(gettext_("Missing or wrong CSRF token."), status_code=403)
    creating = form.get("creating") == "1"
    document = _document(form)
    note = str(form.get("note", "")).strip()
    store = ChainService(session, runtime.clock).templates
    saved: ChainSpec
    try:
        chain = parse_template(document)
        saved, _outcome = await store.save(who.principal, chain, note=note, create=creating)
    except PermissionDenied:
        return render_page(request, "denied.html", who, status_code=403)
    except TaihuError as exc:
        history = [] if creating else await _history(store, document["key"])
        return _editor(request, who, document=document, creating=creating, history=history,
                       shown=None, current=None, error=exc.text(gettext_),
                       status_code=400)  # fmt: skip
    return RedirectResponse(f"/industry-map/templates/{saved.key}", status_code=303)


async def _history(store: Any, key: str) -> list[Any]:
    try:
        return list(await store.history(key))
    except NotFound:
        return []
