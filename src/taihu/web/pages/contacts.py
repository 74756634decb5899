"""Console pages of enterprise contacts: the bureau keeps every enterprise's, users their own.

/contacts (bureau, auditor, admin: every enterprise's contacts; the bureau adds, changes and
removes) and /my-contacts (enterprise users: their enterprises' contacts, kept by them).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taihu.accounts import Permission
from taihu.core import (
    MAX_ID,
    N_,
    DbSession,
    Id,
    InvalidInput,
    Message,
    PermissionDenied,
    RuntimeDep,
    TaihuError,
)
from taihu.enterprises import Enterprise
from taihu.notices import Contacts
from taihu.web.console import Signed, guard, render_page
from taihu.web.flash import flash
from taihu.web.i18n import gettext_

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_STAFF, _OWN = "/contacts", "/my-contacts"


async def _page(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep, path: str
) -> HTMLResponse:
    rows = await Contacts(session, runtime.clock).everyone(who.principal)
    own = sorted(who.principal.enterprise_ids)
    names = {e.id: e.name for e in [await session.get(Enterprise, i) for i in own] if e}
    may_write = who.principal.role.value in ("bureau", "admin") or bool(own)
    return render_page(request, "notices/contacts.html", who, contacts=rows, path=path,
                       own=names, may_write=may_write)  # fmt: skip


@router.get(_STAFF, response_class=HTMLResponse, dependencies=guard(Permission.VIEW_NOTICES))
async def staff_contacts(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    """Every enterprise's contacts."""
    return await _page(request, who, session, runtime, _STAFF)


@router.get(_OWN, response_class=HTMLResponse, dependencies=guard(Permission.READ_INBOX))
async def own_contacts(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    """The user's enterprises' contacts."""
    return await _page(request, who, session, runtime, _OWN)


async def _save(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep, path: str,
    form: dict[str, str],
) -> Response:  # fmt: skip
    if form["csrf"] != who.csrf_token:
        return HTMLResponse(gettext_("Missing or wrong CSRF token."), status_code=403)
    try:
        text = form["enterprise_id"].strip()
        if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
            raise InvalidInput(N_("choose an enterprise"), code="bad_contact")
        await Contacts(session, runtime.clock).set(
            who.principal, int(text), form["name"], form["email"], form["phone"],
            role=form["role"], consent=form["consent"], sms_opt_out=bool(form["sms_opt_out"]),
        )  # fmt: skip
    except PermissionDenied:
        return render_page(request, "denied.html", who, status_code=403)
    except TaihuError as exc:
        return flash(request, RedirectResponse(path, status_code=303), exc)
    return flash(request, RedirectResponse(path, status_code=303), Message(N_("Contact saved.")))


Text = Annotated[str, Form(max_length=254)]


@router.post(_STAFF, response_model=None, dependencies=guard(Permission.VIEW_NOTICES))
async def staff_save(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep,
    enterprise_id: Text = "", name: Text = "", role: Text = "", email: Text = "",
    phone: Text = "", consent: Text = "", sms_opt_out: Text = "", csrf: Text = "",
) -> Response:  # fmt: skip
    form = {"enterprise_id": enterprise_id, "name": name, "role": role, "email": email,
            "phone": phone, "consent": consent, "sms_opt_out": sms_opt_out,
            "csrf": csrf}  # fmt: skip
    return await _save(request, who, session, runtime, _STAFF, form)


@router.post(_OWN, response_model=None, dependencies=guard(Permission.READ_INBOX))
async def own_save(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep,
    enterprise_id: Text = "", name: Text = "", role: Text = "", email: Text = "",
    phone: Text = "", consent: Text = "", sms_opt_out: Text = "", csrf: Text = "",
) -> Response:  # fmt: skip
    form = {"enterprise_id": enterprise_id, "name": name, "role": role, "email": email,
            "phone": phone, "consent": consent, "sms_opt_out": sms_opt_out,
            "csrf": csrf}  # fmt: skip
    return await _save(request, who, session, runtime, _OWN, form)


async def _delete(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep, path: str,
    contact_id: int, csrf: str,
) -> Response:  # fmt: skip
    if csrf != who.csrf_token:
        return HTMLResponse(gettext_("Missing or wrong CSRF token."), status_code=403)
    try:
        await Contacts(session, runtime.clock).delete(who.principal, contact_id)
    except PermissionDenied:
        return render_page(request, "denied.html", who, status_code=403)
    except TaihuError as exc:
        return flash(request, RedirectResponse(path, status_code=303), exc)
    return flash(request, RedirectResponse(path, status_code=303), Message(N_("Contact removed.")))


@router.post("/contacts/{contact_id}/delete", response_model=None,
             dependencies=guard(Permission.VIEW_NOTICES))  # fmt: skip
async def staff_delete(
    request: Request, contact_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep,
    csrf: Text = "",
) -> Response:  # fmt: skip
    return await _delete(request, who, session, runtime, _STAFF, contact_id, csrf)


@router.post("/my-contacts/{contact_id}/delete", response_model=None,
             dependencies=guard(Permission.READ_INBOX))  # fmt: skip
async def own_delete(
    request: Request, contact_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep,
    csrf: Text = "",
) -> Response:  # fmt: skip
    return await _delete(request, who, session, runtime, _OWN, contact_id, csrf)
