"""Console pages of notices: the bureau writes, publishes and follows them; enterprises read.

/notices (bureau, auditor: list, new draft), /notices/{id} (body, receipts, publish, withdraw,
remind), /inbox (enterprise users), /inbox/{id} (opening is the read receipt; acknowledge),
/inbox/unread (the header's unread count, fetched by HTMX).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taihu.accounts import Permission
from taihu.core import (
    N_,
    DbSession,
    Id,
    InvalidInput,
    Message,
    NotFound,
    PermissionDenied,
    Runtime,
    RuntimeDep,
    TaihuError,
    read_upload,
)
from taihu.notices import (
    MAX_ATTACHMENT,
    Audience,
    Inbox,
    NoticeDraft,
    NoticeService,
    receipts_out,
    render_body,
)
from taihu.web import clock_format
from taihu.web.console import Signed, guard, render_page
from taihu.web.flash import flash
from taihu.web.i18n import gettext_

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")  # a 24-hour HH:MM, the same in both languages
# The states and audience kinds the templates show through _(…), marked here for extraction.
LABELS = (
    N_("draft"),
    N_("published"),
    N_("withdrawn"),
    N_("all"),
    N_("township"),
    N_("industry"),
    N_("chain"),
    N_("list"),
    N_("enterprises"),
)


def _back(request: Request, path: str, message: Message | TaihuError) -> Response:
    return flash(request, RedirectResponse(path, status_code=303), message)


@router.get("/notices", response_class=HTMLResponse, dependencies=guard(Permission.VIEW_NOTICES))
async def notices(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    """Every notice, newest first, and the form for a new one."""
    rows = await NoticeService(session, runtime.clock).recent(who.principal)
    return render_page(request, "notices/list.html", who, notices=rows)


@router.post("/notices", response_model=None, dependencies=guard(Permission.VIEW_NOTICES))
async def create(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep,
    title: Annotated[str, Form(max_length=200)] = "",
    body: Annotated[str, Form(max_length=50_000)] = "",
    audience_kind: Annotated[str, Form(max_length=16)] = "all",
    audience_refs: Annotated[str, Form(max_length=40_000)] = "",
    email: Annotated[str, Form(max_length=8)] = "",
    sms: Annotated[str, Form(max_length=8)] = "",
    require_ack: Annotated[str, Form(max_length=8)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:  # fmt: skip
    if csrf != who.csrf_token:
        return HTMLResponse(gettext_("Missing or wrong CSRF token."), status_code=403)
    channels = tuple(c for c, on in (("email", email), ("sms", sms)) if on)
    try:
        draft = NoticeDraft(title, body, Audience(audience_kind, tuple(audience_refs.split())),
                            channels=channels, require_ack=bool(require_ack))  # fmt: skip
        notice = await NoticeService(session, runtime.clock).create(who.principal, draft)
    except PermissionDenied:
        return render_page(request, "denied.html", who, status_code=403)
    except TaihuError as exc:
        return _back(request, "/notices", exc)
    return RedirectResponse(f"/notices/{notice.id}", status_code=303)


@router.get("/notices/{notice_id}", response_class=HTMLResponse,
            dependencies=guard(Permission.VIEW_NOTICES))  # fmt: skip
async def notice(
    request: Request, notice_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    """A notice with its receipts and the bureau's actions."""
    service = NoticeService(session, runtime.clock)
    try:
        row = await service.get(who.principal, notice_id)
    except NotFound:
        return render_page(request, "denied.html", who, status_code=404)
    return render_page(
        request, "notices/notice.html", who, notice=row, body_html=render_body(row.body),
        attachments=await service.attachments(row.id),
        receipts=receipts_out(row.id, await service.receipts(who.principal, row.id)),
    )  # fmt: skip


@router.post("/notices/{notice_id}/attachments", response_model=None,
             dependencies=guard(Permission.VIEW_NOTICES))  # fmt: skip
async def attach(
    request: Request, notice_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep,
    file: Annotated[UploadFile, File()], csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:  # fmt: skip
    """Attach a file to a draft."""
    if csrf != who.csrf_token:
        return HTMLResponse(gettext_("Missing or wrong CSRF token."), status_code=403)
    page = f"/notices/{notice_id}"
    try:
        content = await read_upload(file, MAX_ATTACHMENT)
        await NoticeService(session, runtime.clock).attach(
            who.principal, notice_id, file.filename or "attachment", content,
            file.content_type or "application/octet-stream",
        )  # fmt: skip
    except PermissionDenied:
        return render_page(request, "denied.html", who, status_code=403)
    except TaihuError as exc:
        return _back(request, page, exc)
    return _back(request, page, Message(N_("Attached.")))


def _local_time(day: str, time: str, runtime: Runtime) -> datetime | None:
    """The publishing time, typed as a day and a 24-hour HH:MM, in the console's time zone.

    Both empty: now. The day is in the page language's form; not a datetime-local input, whose
    format follows the browser's locale, not the page's.
    """
    if not day.strip() and not time.strip():
        return None
    when = clock_format.read_day(day)
    clock = _CLOCK.fullmatch(time.strip() or "00:00")
    if when is None or clock is None or int(clock[1]) > 23 or int(clock[2]) > 59:
        raise InvalidInput(
            N_("{value} is not a time"), code="bad_publish_at", value=f"{day} {time}".strip()[:40]
        )
    return datetime(when.year, when.month, when.day, int(clock[1]), int(clock[2]),
                    tzinfo=runtime.settings.console.zone)  # fmt: skip


@router.post("/notices/{notice_id}/{action}", response_model=None,
             dependencies=guard(Permission.VIEW_NOTICES))  # fmt: skip
async def act(
    request: Request, notice_id: Id, action: str, who: Signed, session: DbSession,
    runtime: RuntimeDep, csrf: Annotated[str, Form(max_length=128)] = "",
    day: Annotated[str, Form(max_length=32)] = "", time: Annotated[str, Form(max_length=8)] = "",
) -> Response:  # fmt: skip
    if csrf != who.csrf_token:
        return HTMLResponse(gettext_("Missing or wrong CSRF token."), status_code=403)
    service, page = NoticeService(session, runtime.clock), f"/notices/{notice_id}"
    try:
        if action == "publish":
            notice = await service.publish(
                who.principal, notice_id, _local_time(day, time, runtime)
            )
            done = Message(N_("Published.") if notice.status == "published" else N_("Scheduled."))
        elif action == "withdraw":
            await service.withdraw(who.principal, notice_id)
            done = Message(N_("Withdrawn."))
        elif action == "remind":
            count = await service.remind(who.principal, notice_id)
            done = Message(N_("{count} enterprises reminded."), count=count)
        else:
            return render_page(request, "denied.html", who, status_code=404)
    except PermissionDenied:
        return render_page(request, "denied.html", who, status_code=403)
    except TaihuError as exc:
        return _back(request, page, exc)
    return _back(request, page, done)


@router.get("/inbox", response_class=HTMLResponse, dependencies=guard(Permission.READ_INBOX))
async def inbox(
    request: Request, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    """The notices sent to the user's enterprises."""
    items = await Inbox(session, runtime.clock).items(who.principal)
    return render_page(request, "notices/inbox.html", who, items=items)


@router.get("/inbox/unread", response_class=HTMLResponse,
            dependencies=guard(Permission.READ_INBOX))  # fmt: skip
async def unread(who: Signed, session: DbSession, runtime: RuntimeDep) -> HTMLResponse:
    """The unread count for the header's inbox link (empty when none)."""
    count = await Inbox(session, runtime.clock).unread(who.principal)
    return HTMLResponse(
        f'<span class="badge" data-unread="{count}">{count}</span>' if count else ""
    )


@router.get("/inbox/{notice_id}", response_class=HTMLResponse,
            dependencies=guard(Permission.READ_INBOX))  # fmt: skip
async def open_notice(
    request: Request, notice_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep
) -> HTMLResponse:
    """A notice, opened: the read receipt of the user's enterprises."""
    try:
        item = await Inbox(session, runtime.clock).open(who.principal, notice_id)
    except NotFound:
        return render_page(request, "denied.html", who, status_code=404)
    attachments = await NoticeService(session, runtime.clock).attachments(notice_id)
    return render_page(request, "notices/read.html", who, item=item, attachments=attachments,
                       body_html=render_body(item.notice.body))  # fmt: skip


@router.post("/inbox/{notice_id}/acknowledge", response_model=None,
             dependencies=guard(Permission.READ_INBOX))  # fmt: skip
async def acknowledge(
    request: Request, notice_id: Id, who: Signed, session: DbSession, runtime: RuntimeDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:  # fmt: skip
    if csrf != who.csrf_token:
        return HTMLResponse(gettext_("Missing or wrong CSRF token."), status_code=403)
    page = f"/inbox/{notice_id}"
    try:
        await Inbox(session, runtime.clock).acknowledge(who.principal, notice_id)
    except TaihuError as exc:
        return _back(request, page, exc)
    return _back(request, page, Message(N_("Acknowledged.")))
