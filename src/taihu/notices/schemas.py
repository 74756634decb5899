"""API shapes of the notices context."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from taihu.core import Id
from taihu.notices.audience import Audience
from taihu.notices.service import NoticeDraft

__all__ = [
    "AttachmentOut",
    "ContactIn",
    "ContactOut",
    "InboxItemOut",
    "InboxOut",
    "NoticeIn",
    "NoticeOut",
    "PublishIn",
    "ReceiptOut",
    "ReceiptsOut",
    "RemindOut",
]

_NOTICE_EXAMPLE: dict[str, Any] = {
    "title": "关于做好春节后复工复产工作的通知",
    "body": "各企业:\n\n请于 **2 月 10 日前** 在平台填报复工计划。",
    "audience_kind": "township",
    "audience_refs": ["320509107"],
    "channels": ["console", "email"],
    "require_ack": True,
}


class NoticeIn(BaseModel):
    """A notice draft: title, Markdown body, audience, channels, acknowledgement."""

    model_config = ConfigDict(json_schema_extra={"examples": [_NOTICE_EXAMPLE]})

    title: str = Field(max_length=200)
    body: str = Field(max_length=50_000, description="Markdown; raw HTML is shown as text")
    audience_kind: str = Field(
        max_length=16,
        description="all, township, industry, chain, list or enterprises (docs/notices.md)",
    )
    audience_refs: list[str] = Field(
        default_factory=list, max_length=2000,
        description="Township codes, GB/T 4754 code prefixes, chain keys, list ids or names, or "
        "credit codes",
    )  # fmt: skip
    channels: list[str] = Field(
        default_factory=lambda: ["console"], max_length=3, description="console, email, sms"
    )
    require_ack: bool = Field(default=False, description="Recipients must acknowledge")

    def draft(self) -> NoticeDraft:
        """The domain draft (which checks every field)."""
        return NoticeDraft(
            self.title, self.body, Audience(self.audience_kind, tuple(self.audience_refs)),
            channels=tuple(self.channels), require_ack=self.require_ack,
        )  # fmt: skip


class PublishIn(BaseModel):
    """When to publish: now (empty) or at a time ahead (scheduled)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"at": "2026-12-07T01:00:00Z"}]})

    at: AwareDatetime | None = None


class AttachmentOut(BaseModel):
    """An attachment, without its bytes."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{
        "id": 1, "filename": "复工计划表.xlsx", "size": 18432, "sha256": "9f86d0" + "0" * 58,
        "content_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }]})  # fmt: skip

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str


class NoticeOut(BaseModel):
    """A notice with its state and attachments."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={"examples": [{
            "id": 3, **_NOTICE_EXAMPLE, "body_html": "<p>各企业:</p>\n<p>请于 <strong>2 月 10 日前"
            "</strong> 在平台填报复工计划。</p>\n", "status": "published", "publish_at": None,
            "created_by": "analyst", "created_at": "2026-12-06T08:00:00Z",
            "published_at": "2026-12-06T08:05:00Z", "withdrawn_at": None, "attachments": [],
        }]},
    )  # fmt: skip

    id: int
    title: str
    body: str
    body_html: str = ""
    status: str
    require_ack: bool
    audience_kind: str
    audience_refs: list[str]
    channels: list[str]
    publish_at: datetime | None
    created_by: str
    created_at: datetime
    published_at: datetime | None
    withdrawn_at: datetime | None
    attachments: list[AttachmentOut] = Field(default_factory=list)


class DeliveriesOut(BaseModel):
    """An enterprise's e-mail and SMS messages by state."""

    pending: int
    sent: int
    failed: int
    sending: int = 0
    unknown: int = 0


class ReceiptOut(BaseModel):
    """One recipient's receipts."""

    enterprise_id: int
    enterprise_name: str
    read_at: datetime | None
    read_by: str | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    reminders: int
    deliveries: DeliveriesOut


class ReceiptsOut(BaseModel):
    """Who has read and acknowledged a notice, and who not yet."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "notice_id": 3, "recipients": 2, "read": 1, "acknowledged": 1, "items": [{
            "enterprise_id": 12, "enterprise_name": "吴江示例光缆有限公司",
            "read_at": "2026-12-06T09:00:00Z", "read_by": "zhang",
            "acknowledged_at": "2026-12-06T09:01:00Z", "acknowledged_by": "zhang",
            "reminders": 0, "deliveries": {"pending": 0, "sent": 1, "failed": 0}}],
    }]})  # fmt: skip

    notice_id: int
    recipients: int
    read: int
    acknowledged: int
    items: list[ReceiptOut]


class RemindOut(BaseModel):
    """How many recipients were reminded."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"reminded": 4}]})

    reminded: int


class InboxItemOut(BaseModel):
    """A notice in an enterprise user's inbox."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": 3, "title": "关于做好春节后复工复产工作的通知",
        "published_at": "2026-12-06T08:05:00Z", "require_ack": True, "read": True,
        "acknowledged": True}]})  # fmt: skip

    id: int
    title: str
    published_at: datetime | None
    require_ack: bool
    read: bool
    acknowledged: bool


class InboxOut(BaseModel):
    """An enterprise user's notices and how many are unread."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "unread": 1, "items": [{"id": 3, "title": "关于做好春节后复工复产工作的通知",
                                "published_at": "2026-12-06T08:05:00Z", "require_ack": True,
                                "read": False, "acknowledged": False}],
    }]})  # fmt: skip

    unread: int
    items: list[InboxItemOut]


class ContactIn(BaseModel):
    """A notice contact of an enterprise: e-mail, mainland mobile number, or both."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "enterprise_id": 12, "name": "张敏", "role": "安全员", "email": "zhangmin@example.cn",
        "phone": "+86 139 1234 5678", "consent": "书面同意 2026-12-01",
        "sms_opt_out": False}]})  # fmt: skip

    enterprise_id: Id
    name: str = Field(max_length=80)
    role: str | None = Field(default=None, max_length=40, description="Their role (安全员…)")
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=40)
    consent: str | None = Field(
        default=None, max_length=120,
        description="How the person agreed to receive notices (kept with the time and who "
        "recorded it); an enterprise's own users consent for themselves when left out.",
    )  # fmt: skip
    sms_opt_out: bool = Field(default=False, description="No SMS to this number (退订).")


class ContactOut(BaseModel):
    """A stored notice contact."""

    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [{
        "id": 5, "enterprise_id": 12, "name": "张敏", "email": "zhangmin@example.cn",
        "phone": "13912345678", "role": "安全员", "consent_at": "2026-12-01T02:00:00Z",
        "consent_how": "书面同意", "consent_by": "analyst", "sms_opt_out_at": None}]})  # fmt: skip

    id: int
    enterprise_id: int
    name: str
    email: str | None
    phone: str | None
    role: str | None = None
    consent_at: datetime | None = None
    consent_how: str | None = None
    consent_by: str | None = None
    sms_opt_out_at: datetime | None = None
