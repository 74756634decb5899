"""Console form that edits an enterprise's registry facts (bureau), its audit trail beside it."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taihu.accounts import AuditFilter, Role, SessionInfo, query_audit
from taihu.core import N_, DbSession, Id, InvalidInput, RuntimeDep, TaihuError
from taihu.enterprises import Enterprise, EnterpriseService, Profile, RevenueBand, townships
from taihu.web.console import Signed, render_page
from taihu.web.i18n import gettext_

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_TRAIL = 50
_FLAGS = ("above_size", "key_enterprise", "chain_leader")


def _may_edit(who: SessionInfo) -> bool:
    return who.principal.role in (Role.ADMIN, Role.BUREAU)


def _values(enterprise: Enterprise) -> dict[str, Any]:
    return {
        "name": enterprise.name, "name_en": enterprise.name_en or "",
        "township_code": enterprise.township_code or "",
        "industry_code": enterprise.industry_code or "",
        "employees": "" if enterprise.employees is None else str(enterprise.employees),
        "revenue_band": enterprise.revenue_band or "", "address": enterprise.address or "",
        **{flag: bool(getattr(enterprise, flag)) for flag in _FLAGS},
    }  # fmt: skip


def _profile(enterprise: Enterprise, form: dict[str, str]) -> Profile:
    employees = form.get("employees", "").strip()
    if employees and not employees.isdigit():
        raise InvalidInput(N_("{value} is not a number"), code="bad_employees", value=employees)
    return Profile(
        name_en=form.get("name_en", "").strip() or None,
        township_code=form.get("township_code") or None,
        industry_code=form.get("industry_code", "").strip() or None,
        above_size="above_size" in form, key_enterprise="key_enterprise" in form,
        chain_leader="chain_leader" in form,
        employees=int(employees) if employees else None,
        revenue_band=form.get("revenue_band") or None,
        address=form.get("address", "").strip() or None,
        # The form does not edit the map position: it stays as it is.
        latitude=enterprise.latitude, longitude=enterprise.longitude,
    )  # fmt: skip


async def _render(
    request: Request, who: SessionInfo, session: DbSession, enterprise: Enterprise,
    values: dict[str, Any], *, error: str = "", status_code: int = 200,
) -> HTMLResponse:  # fmt: skip
    trail, total = await query_audit(
        session, AuditFilter(entity_type="enterprise", entity_id=str(enterprise.id)),
        page=1, page_size=_TRAIL,
    )  # fmt: skip
    return render_page(
        request, "enterprise_edit.html", who, status_code=status_code, e=enterprise,
        values=values, error=error, entries=trail, total=total, pages=1, page=1,
        filters={"action": "", "actor": "", "entity_type": "", "outcome": ""},
        townships=sorted(townships().values(), key=lambda t: t.code),
        bands=[b.value for b in RevenueBand], may_edit=_may_edit(who),
    )  # fmt: skip


@router.get("/enterprises/{enterprise_id}/edit", response_class=HTMLResponse)
async def edit_form(
    request: Request, enterprise_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    if not who.principal.sees_all_enterprises:
        return render_page(request, "denied.html", who, status_code=403)
    try:
        enterprise = await EnterpriseService(session, runtime.clock).get(
            who.principal, enterprise_id
        )
    except TaihuError as exc:
        return render_page(request, "denied.html", who, status_code=exc.status,
                           message=exc.text(gettext_))  # fmt: skip
    return await _render(request, who, session, enterprise, _values(enterprise))


@router.post("/enterprises/{enterprise_id}/edit", response_model=None)
async def edit_submit(
    request: Request, enterprise_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str) and len(v) < 1000}
    if not secrets.compare_digest(form.get("csrf", ""), who.csrf_token):
        return Response(gettext_("Missing or wrong CSRF token."), status_code=403)
    service = EnterpriseService(session, runtime.clock)
    try:
        enterprise = await service.get(who.principal, enterprise_id)
    except TaihuError as exc:
        return render_page(request, "denied.html", who, status_code=exc.status,
                           message=exc.text(gettext_))  # fmt: skip
    try:
        async with session.begin_nested():  # a refused change leaves the record as it was
            await service.update(
                who.principal, enterprise_id, form.get("name"), _profile(enterprise, form)
            )
    except TaihuError as exc:
        await session.refresh(enterprise)
        values = {**_values(enterprise), **form, **{f: f in form for f in _FLAGS}}
        return await _render(request, who, session, enterprise, values,
                             error=exc.text(gettext_), status_code=exc.status)  # fmt: skip
    return RedirectResponse(f"/enterprises/{enterprise_id}/edit#history", status_code=303)
