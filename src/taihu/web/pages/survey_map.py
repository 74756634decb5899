"""Console pages feeding the map: a survey's analytics, its proposals, the chain survey button.

Proposals are listed with their values before and after, and accepted or rejected here.

The services decide who may see and do what; a refusal comes back as the page's flash.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taihu.accounts import Permission, Role
from taihu.core import DbSession, Id, RuntimeDep, TaihuError
from taihu.surveys import (
    CHAIN_FORM_ID,
    Figures,
    Proposals,
    Review,
    install_chain_form,
    survey_figures,
)
from taihu.web.console import Signed, guard, render_page
from taihu.web.flash import flash
from taihu.web.i18n import N_, current_language, gettext_

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]
PROPOSAL_LABELS = {"proposed": N_("Proposed"), "accepted": N_("Accepted"),
                   "rejected": N_("Rejected")}  # fmt: skip
FIELD_LABELS = {"employees": N_("Employees"), "revenue_band": N_("Revenue band"),
                "industry_code": N_("Industry class"), "address": N_("Address")}  # fmt: skip


def _forged() -> HTMLResponse:
    return HTMLResponse(gettext_("Missing or wrong CSRF token."), status_code=403)


def _label(label: dict[str, str], fallback: str) -> str:
    """A form label in the page's language (``English (en)`` or ``中文 (zh)``), else any."""
    wanted = "(zh)" if current_language.get().startswith("zh") else "(en)"
    for language, text in label.items():
        if language.endswith(wanted):
            return text
    return next(iter(label.values()), fallback)


def _chart(figures: Figures) -> dict[str, Any]:
    """What the page's charts draw (the tables beside them hold the same figures)."""
    questions: list[dict[str, Any] | None] = []
    for index, q in enumerate(figures.questions):
        if q.choices:
            questions.append({"id": f"q{index}", "names": [_label(lb, n) for n, lb, _ in q.choices],
                              "counts": [c for _, _, c in q.choices]})  # fmt: skip
        elif q.histogram:
            questions.append({"id": f"q{index}",
                              "names": [f"{lo:g} to {hi:g}" for lo, hi, _ in q.histogram],
                              "counts": [c for _, _, c in q.histogram]})  # fmt: skip
        else:
            questions.append(None)
    return {
        "answered": gettext_("Answered"), "asked": gettext_("Asked"),
        "townships": {"names": [g.key or "—" for g in figures.by_township],
                      "asked": [g.asked for g in figures.by_township],
                      "answered": [g.answered for g in figures.by_township]},
        "industries": {"names": [g.key or "—" for g in figures.by_industry],
                       "asked": [g.asked for g in figures.by_industry],
                       "answered": [g.answered for g in figures.by_industry]},
        "questions": questions,
    }  # fmt: skip


@router.get("/surveys/{form_id}/analytics", response_class=HTMLResponse,
            dependencies=guard(Permission.VIEW_SURVEYS))  # fmt: skip
async def analytics_page(
    request: Request, form_id: str, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    survey = await Review(session, runtime.clock).survey(form_id)
    figures = await survey_figures(session, who.principal, survey, runtime.clock.now().date())
    return render_page(request, "surveys/analytics.html", who, survey=survey, figures=figures,
                       chart=_chart(figures), label_of=_label)  # fmt: skip


@router.get("/surveys/{form_id}/proposals", response_class=HTMLResponse,
            dependencies=guard(Permission.VIEW_SURVEYS))  # fmt: skip
async def proposals_page(
    request: Request, form_id: str, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    survey = await Review(session, runtime.clock).survey(form_id)
    rows = await Proposals(session, runtime.clock).find(who.principal, form_id)
    return render_page(
        request, "surveys/proposals.html", who, survey=survey, rows=rows,
        states={k: gettext_(v) for k, v in PROPOSAL_LABELS.items()},
        fields={k: gettext_(v) for k, v in FIELD_LABELS.items()},
        staff=who.principal.role.value in ("admin", "bureau"),
    )  # fmt: skip


@router.post("/surveys/{form_id}/proposals/{proposal_id}", response_model=None)
async def decide(
    request: Request, form_id: str, proposal_id: Id, who: Signed, session: DbSession,
    runtime: RuntimeDep, action: Annotated[str, Form(max_length=16)], csrf: Csrf = "",
) -> Response:  # fmt: skip
    if csrf != who.csrf_token:
        return _forged()
    here = RedirectResponse(f"/surveys/{form_id}/proposals", status_code=303)
    proposals = Proposals(session, runtime.clock)
    try:
        if action == "accept":
            await proposals.accept(who.principal, proposal_id)
        else:
            await proposals.reject(who.principal, proposal_id)
    except TaihuError as exc:
        await session.rollback()
        return flash(request, here, exc)
    return here


@router.post("/survey-builtins/chain-survey", response_model=None)
async def install(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep, csrf: Csrf = ""
) -> Response:
    if csrf != who.csrf_token:
        return _forged()
    try:
        who.principal.require_role(Role.BUREAU)
        await install_chain_form(session, runtime.clock, who.principal)
    except TaihuError as exc:
        await session.rollback()
        return flash(request, RedirectResponse("/surveys", status_code=303), exc)
    return RedirectResponse(f"/surveys/{CHAIN_FORM_ID}", status_code=303)
