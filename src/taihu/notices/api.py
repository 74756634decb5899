"""HTTP routes of notices: the bureau writes and follows them, enterprises read and acknowledge.

GET/POST /api/notices, GET/PUT /api/notices/{id}, attachments, publish, withdraw, receipts,
remind (bureau; auditors read); GET /api/inbox, GET /api/inbox/{id} (the read receipt),
POST /api/inbox/{id}/acknowledge (enterprise users); notice contacts.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, File, Query, Response, UploadFile, status

from taihu.accounts import ERROR_RESPONSES, CurrentPrincipal, Principal
from taihu.core import (
    MAX_ID,
    N_,
    DbSession,
    Id,
    InvalidInput,
    NotFound,
    RuntimeDep,
    Unauthenticated,
    read_upload,
)
from taihu.notices.aliyun import aliyun_reports
from taihu.notices.body import render_body
from taihu.notices.contacts import Contacts
from taihu.notices.inbox import Inbox, InboxItem
from taihu.notices.models import Notice, NoticeAttachment
from taihu.notices.outbox import record_reports
from taihu.notices.schemas import (
    AttachmentOut,
    ContactIn,
    ContactOut,
    DeliveriesOut,
    InboxItemOut,
    InboxOut,
    NoticeIn,
    NoticeOut,
    PublishIn,
    ReceiptOut,
    ReceiptsOut,
    RemindOut,
)
from taihu.notices.service import MAX_ATTACHMENT, NoticeService, Receipt
from taihu.notices.tencent import tencent_reports

__all__ = ["download", "inbox_item_out", "notice_out", "receipts_out", "router"]

router = APIRouter(tags=["notices"])


def _notices(session: DbSession, runtime: RuntimeDep) -> NoticeService:
    return NoticeService(session, runtime.clock)


def _inbox(session: DbSession, runtime: RuntimeDep) -> Inbox:
    return Inbox(session, runtime.clock)


Notices = Annotated[NoticeService, Depends(_notices)]
Inboxes = Annotated[Inbox, Depends(_inbox)]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    404: {"description": "No such notice (for this caller)"},
}
_STATE: dict[int | str, dict[str, Any]] = {
    **_NOT_FOUND,
    409: {"description": "The notice's state forbids it"},
}


async def notice_out(service: NoticeService, notice: Notice) -> NoticeOut:
    """A notice with its rendered body and attachments."""
    out = NoticeOut.model_validate(notice)
    out.body_html = render_body(notice.body)
    out.attachments = [
        AttachmentOut.model_validate(a) for a in await service.attachments(notice.id)
    ]
    return out


def receipts_out(notice_id: int, receipts: list[Receipt]) -> ReceiptsOut:
    """The receipts with their counts."""
    items = [ReceiptOut(enterprise_id=r.enterprise_id, enterprise_name=r.enterprise_name,
                        read_at=r.read_at, read_by=r.read_by, acknowledged_at=r.acknowledged_at,
                        acknowledged_by=r.acknowledged_by, reminders=r.reminders,
                        deliveries=DeliveriesOut(pending=r.deliveries.pending,
                                                 sent=r.deliveries.sent,
                                                 failed=r.deliveries.failed,
                                                 sending=r.deliveries.sending,
                                                 unknown=r.deliveries.unknown))
             for r in receipts]  # fmt: skip
    return ReceiptsOut(
        notice_id=notice_id, recipients=len(items), items=items,
        read=sum(1 for r in receipts if r.read_at), acknowledged=sum(
            1 for r in receipts if r.acknowledged_at),
    )  # fmt: skip


def inbox_item_out(item: InboxItem) -> InboxItemOut:
    """An inbox entry."""
    n = item.notice
    return InboxItemOut(id=n.id, title=n.title, published_at=n.published_at,
                        require_ack=n.require_ack, read=item.read,
                        acknowledged=item.acknowledged)  # fmt: skip


def download(row: NoticeAttachment) -> Response:
    """An attachment as a download the browser never renders in the console's origin."""
    quoted = "".join(ch if ch.isascii() and ch not in '"\\' else "_" for ch in row.filename)
    return Response(row.content, media_type=row.content_type, headers={
        "Content-Disposition": f'attachment; filename="{quoted}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    })  # fmt: skip


@router.get("/api/notices", summary="List notices", response_model=list[NoticeOut],
            description="Bureau, auditor and admin; newest first, at most 500.",
            responses=ERROR_RESPONSES)  # fmt: skip
async def list_notices(
    principal: CurrentPrincipal, notices: Notices,
    status_: Annotated[str | None, Query(alias="status", max_length=16,
                                         description="draft, published or withdrawn")] = None,
) -> list[NoticeOut]:  # fmt: skip
    return [await notice_out(notices, n) for n in await notices.recent(principal, status_)]


@router.post("/api/notices", summary="Write a notice draft", status_code=status.HTTP_201_CREATED,
             description="Bureau and admin. The audience is checked now and resolved to "
             "enterprises when published.", response_model=NoticeOut,
             responses=ERROR_RESPONSES)  # fmt: skip
async def create_notice(body: NoticeIn, principal: CurrentPrincipal, notices: Notices) -> NoticeOut:
    return await notice_out(notices, await notices.create(principal, body.draft()))


@router.get("/api/notices/{notice_id}", summary="One notice", response_model=NoticeOut,
            description="Bureau, auditor and admin.", responses=_NOT_FOUND)  # fmt: skip
async def get_notice(notice_id: Id, principal: CurrentPrincipal, notices: Notices) -> NoticeOut:
    return await notice_out(notices, await notices.get(principal, notice_id))


@router.put("/api/notices/{notice_id}", summary="Rewrite a draft", response_model=NoticeOut,
            description="Bureau and admin; 409 once published or withdrawn.",
            responses=_STATE)  # fmt: skip
async def update_notice(
    notice_id: Id, body: NoticeIn, principal: CurrentPrincipal, notices: Notices
) -> NoticeOut:
    return await notice_out(notices, await notices.update(principal, notice_id, body.draft()))


@router.post(
    "/api/notices/{notice_id}/attachments",
    summary="Attach a file to a draft",
    status_code=status.HTTP_201_CREATED,
    response_model=AttachmentOut,
    description=f"Bureau and admin. Multipart `file`, at most "
    f"{MAX_ATTACHMENT // (1024 * 1024)} MB, ten per notice.",
    responses=_STATE,
)
async def attach(
    notice_id: Id, principal: CurrentPrincipal, notices: Notices,
    file: Annotated[UploadFile, File(description="The file to attach")],
) -> AttachmentOut:  # fmt: skip
    content = await read_upload(file, MAX_ATTACHMENT)
    row = await notices.attach(principal, notice_id, file.filename or "attachment", content,
                               file.content_type or "application/octet-stream")  # fmt: skip
    return AttachmentOut.model_validate(row)


async def _may_read(principal: Principal, notices: Notices, inbox: Inbox, notice_id: int) -> None:
    if principal.sees_all_enterprises:
        await notices.get(principal, notice_id)
    else:
        await inbox.may_read(principal, notice_id)


@router.get(
    "/api/notices/{notice_id}/attachments/{attachment_id}",
    summary="Download an attachment",
    response_class=Response,
    description="Staff roles, and enterprise users whose inbox holds the notice.",
    responses={**_NOT_FOUND, 200: {"content": {"application/octet-stream": {}}}},
)
async def get_attachment(
    notice_id: Id, attachment_id: Id, principal: CurrentPrincipal, notices: Notices,
    inbox: Inboxes,
) -> Response:  # fmt: skip
    await _may_read(principal, notices, inbox, notice_id)
    return download(await notices.attachment(notice_id, attachment_id))


@router.post(
    "/api/notices/{notice_id}/publish",
    summary="Publish or schedule a draft",
    response_model=NoticeOut,
    responses=_STATE,
    description="Bureau and admin. Without `at` (or with a time past) now: the audience "
    "becomes the recipients and e-mail/SMS are queued; with `at` ahead, scheduled.",
)
async def publish(
    notice_id: Id,
    principal: CurrentPrincipal,
    notices: Notices,
    body: Annotated[PublishIn | None, Body(examples=[{"at": "2026-12-07T01:00:00Z"}])] = None,
) -> NoticeOut:
    notice = await notices.publish(principal, notice_id, body.at if body else None)
    return await notice_out(notices, notice)


@router.post(
    "/api/notices/{notice_id}/withdraw",
    summary="Withdraw a notice",
    response_model=NoticeOut,
    responses=_STATE,
    description="Bureau and admin. It leaves the inboxes; unsent messages are dropped.",
)
async def withdraw(notice_id: Id, principal: CurrentPrincipal, notices: Notices) -> NoticeOut:
    return await notice_out(notices, await notices.withdraw(principal, notice_id))


@router.get("/api/notices/{notice_id}/receipts", summary="Who has read and acknowledged",
            response_model=ReceiptsOut, responses=_NOT_FOUND,
            description="Bureau, auditor and admin: each recipient enterprise with its read and "
            "acknowledgement receipts, reminders and e-mail/SMS deliveries.")  # fmt: skip
async def receipts(notice_id: Id, principal: CurrentPrincipal, notices: Notices) -> ReceiptsOut:
    return receipts_out(notice_id, await notices.receipts(principal, notice_id))


@router.post(
    "/api/notices/{notice_id}/remind",
    summary="Remind those who have not answered",
    response_model=RemindOut,
    responses=_STATE,
    description="Bureau and admin. Recipients that have not read it (or not acknowledged "
    "it, where asked) are counted reminded and get the notice again by e-mail/SMS.",
)
async def remind(notice_id: Id, principal: CurrentPrincipal, notices: Notices) -> RemindOut:
    return RemindOut(reminded=await notices.remind(principal, notice_id))


@router.get(
    "/api/inbox",
    summary="My notices",
    response_model=InboxOut,
    responses=ERROR_RESPONSES,
    description="Enterprise users: the published notices sent to their enterprises.",
)
async def inbox_list(principal: CurrentPrincipal, inbox: Inboxes) -> InboxOut:
    items = await inbox.items(principal)
    return InboxOut(unread=await inbox.unread(principal), items=[inbox_item_out(i) for i in items])


@router.get("/api/inbox/{notice_id}", summary="Open a notice (the read receipt)",
            response_model=NoticeOut, responses=_NOT_FOUND,
            description="Enterprise users. The first opening per enterprise is its read receipt; "
            "404 for a notice not sent to the caller's enterprises.")  # fmt: skip
async def inbox_open(
    notice_id: Id, principal: CurrentPrincipal, inbox: Inboxes, notices: Notices
) -> NoticeOut:
    return await notice_out(notices, (await inbox.open(principal, notice_id)).notice)


@router.post(
    "/api/inbox/{notice_id}/acknowledge",
    summary="Acknowledge a notice",
    response_model=InboxItemOut,
    responses=_STATE,
    description="Enterprise users, for notices that ask for it (409 otherwise).",
)
async def inbox_acknowledge(
    notice_id: Id, principal: CurrentPrincipal, inbox: Inboxes
) -> InboxItemOut:
    return inbox_item_out(await inbox.acknowledge(principal, notice_id))


@router.get("/api/notice-contacts", summary="An enterprise's notice contacts",
            response_model=list[ContactOut], responses=ERROR_RESPONSES,
            description="Staff roles, and the enterprise's own users.")  # fmt: skip
async def contacts(
    enterprise_id: Annotated[int, Query(ge=1, le=MAX_ID)], principal: CurrentPrincipal,
    session: DbSession, runtime: RuntimeDep,
) -> list[ContactOut]:  # fmt: skip
    rows = await Contacts(session, runtime.clock).of(principal, enterprise_id)
    return [ContactOut.model_validate(r) for r in rows]


@router.post(
    "/api/notice-contacts",
    summary="Add or change a notice contact",
    response_model=ContactOut,
    responses=ERROR_RESPONSES,
    description="Bureau and admin, and the enterprise's own users. A contact is named "
    "per enterprise; e-mail and a mainland China mobile number (1xxxxxxxxxx).",
)
async def set_contact(
    body: ContactIn, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> ContactOut:
    row = await Contacts(session, runtime.clock).set(
        principal, body.enterprise_id, body.name, body.email, body.phone, role=body.role,
        consent=body.consent, sms_opt_out=body.sms_opt_out,
    )  # fmt: skip
    return ContactOut.model_validate(row)


@router.delete("/api/notice-contacts/{contact_id}", summary="Remove a notice contact",
               status_code=status.HTTP_204_NO_CONTENT, response_class=Response,
               responses={**ERROR_RESPONSES, 404: {"description": "No such contact"}},
               description="Bureau and admin, and the enterprise's own users.")  # fmt: skip
async def delete_contact(
    contact_id: Id, principal: CurrentPrincipal, session: DbSession, runtime: RuntimeDep
) -> Response:
    await Contacts(session, runtime.clock).delete(principal, contact_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


_REPORT_EXAMPLE = [{"phone_number": "13912345678", "success": True, "err_code": "DELIVERED",
                    "report_time": "2026-12-07 09:00:05", "biz_id": "932702304080415357^0",
                    "out_id": "5f0c9d0a8e4b4f0f9a1c3b2d4e5f6a7b"}]  # fmt: skip
_REPORT_ANSWERS: dict[str, dict[str, Any]] = {
    "aliyun": {"code": 0, "msg": "成功"},
    "tencent": {"result": 0, "errmsg": "OK"},
}


@router.post(
    "/api/sms/reports/{provider}",
    summary="SMS delivery reports from the provider",
    responses={**ERROR_RESPONSES, 404: {"description": "Not the configured provider"}},
    description="Called by the SMS provider (Alibaba SmsReport HTTP push, Tencent status "
    "callback): a JSON array of per-message reports, each recorded on its outbox row. Neither "
    "provider signs these pushes, so the URL carries `?token=` = `TAIHU_SMS_CALLBACK_TOKEN`; "
    "without a configured token every report is refused.",
)
async def sms_reports(
    provider: Literal["aliyun", "tencent"],
    token: Annotated[str, Query(max_length=200, description="TAIHU_SMS_CALLBACK_TOKEN")],
    reports: Annotated[list[dict[str, Any]], Body(examples=[_REPORT_EXAMPLE], max_length=500)],
    runtime: RuntimeDep,
) -> dict[str, Any]:
    sms = runtime.settings.sms
    expected = sms.callback_token.get_secret_value()
    if not expected or not hmac.compare_digest(expected.encode(), token.encode()):
        raise Unauthenticated(N_("wrong or missing report token"), code="bad_report_token")
    if provider != sms.provider:
        raise NotFound(N_("SMS reports come from {provider} only"), code="not_sms_provider",
                       provider=sms.provider)  # fmt: skip
    try:
        parsed = aliyun_reports(reports) if provider == "aliyun" else tencent_reports(reports)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise InvalidInput(N_("unreadable delivery report: {error}"), code="bad_sms_report",
                           error=str(exc)[:100]) from exc  # fmt: skip
    await record_reports(runtime.db, runtime.clock, provider, parsed)
    return _REPORT_ANSWERS[provider]
