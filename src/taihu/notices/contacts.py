"""Each enterprise's contacts: name, role, e-mail, mobile, and their consent to be messaged.

The bureau keeps any enterprise's contacts, an enterprise's users their own. A mobile number is
a mainland one (``1[3-9]`` and nine digits, ``+86`` allowed). SMS go only to contacts whose
consent is recorded (how, when, by whom) and who have not opted out (退订). Every change is
audited with the state before and after.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Clock, InvalidInput, NotFound, SystemClock
from taihu.enterprises import Enterprise
from taihu.notices.models import NoticeContact

__all__ = ["Contacts", "normalize_phone"]

# A deliberately plain check: one @, no spaces, a dot in the domain. The server is the judge.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")  # mainland China mobile numbers


def normalize_phone(phone: str | None) -> str | None:
    """A typed mobile number without spaces, dashes and the +86 prefix (None when empty)."""
    digits = re.sub(r"[\s()-]", "", phone or "")
    for prefix in ("+86", "0086"):
        digits = digits.removeprefix(prefix)
    return digits or None


def _snapshot(row: NoticeContact) -> dict[str, object]:
    return {"name": row.name, "role": row.role, "email": row.email, "phone": row.phone,
            "consent_how": row.consent_how,
            "sms_opt_out": row.sms_opt_out_at is not None}  # fmt: skip


class Contacts:
    """The notice contacts of enterprises."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    def _may_write(self, actor: Principal, enterprise_id: int) -> None:
        if actor.role is not Role.BUREAU:
            actor.require_enterprise(enterprise_id)

    async def set(
        self, actor: Principal, enterprise_id: int, name: str,
        email: str | None = None, phone: str | None = None, *, role: str | None = None,
        consent: str | None = None, sms_opt_out: bool = False,
    ) -> NoticeContact:  # fmt: skip
        """Add or change the contact ``name`` of an enterprise."""
        self._may_write(actor, enterprise_id)
        name = " ".join(name.split())
        role = " ".join((role or "").split())[:40] or None
        consent = " ".join((consent or "").split())[:120] or None
        email = (email or "").strip() or None
        phone = normalize_phone(phone)
        if not 1 <= len(name) <= 80:
            raise InvalidInput(N_("give the contact person's name"), code="bad_contact")
        if email is None and phone is None:
            raise InvalidInput(N_("give an e-mail address or a mobile number"), code="bad_contact")
        if email is not None and (len(email) > 254 or not _EMAIL.match(email)):
            raise InvalidInput(N_("{email} is not an e-mail address"), code="bad_contact_email",
                               email=email[:80])  # fmt: skip
        if phone is not None and not _MOBILE.match(phone):
            raise InvalidInput(N_("{phone} is not a mainland China mobile number"),
                               code="bad_contact_phone", phone=phone[:40])  # fmt: skip
        if await self.session.get(Enterprise, enterprise_id) is None:
            raise NotFound(N_("no enterprise {enterprise}"), code="enterprise_not_found",
                           enterprise=enterprise_id)  # fmt: skip
        row = await self.session.scalar(
            sa.select(NoticeContact).where(NoticeContact.enterprise_id == enterprise_id,
                                           NoticeContact.name == name)
        )  # fmt: skip
        now = self.clock.now()
        before = _snapshot(row) if row else None
        if row is None:
            row = NoticeContact(enterprise_id=enterprise_id, name=name, created_at=now)
            self.session.add(row)
        if row.phone != phone:  # consent was given for the number it was given for
            row.consent_at = row.consent_how = row.consent_by = None
        row.email, row.phone, row.role = email, phone, role
        if consent is not None and consent != row.consent_how:
            row.consent_at, row.consent_how, row.consent_by = now, consent, actor.name
        if sms_opt_out and row.sms_opt_out_at is None:
            row.sms_opt_out_at = now
        elif not sms_opt_out:
            row.sms_opt_out_at = None
        await self.session.flush()
        await record_audit(self.session, actor, "notice_contact.set", "enterprise", enterprise_id,
                           before=before, after={"id": row.id, **_snapshot(row)},
                           at=now)  # fmt: skip
        return row

    async def delete(self, actor: Principal, contact_id: int) -> None:
        """Remove a contact (its consent record goes with it; the audit log keeps the trail)."""
        row = await self.session.get(NoticeContact, contact_id)
        if row is None or not actor.can_see_enterprise(row.enterprise_id):
            raise NotFound(N_("no contact {contact}"), code="contact_not_found", contact=contact_id)
        self._may_write(actor, row.enterprise_id)
        before = _snapshot(row)
        await self.session.delete(row)
        await self.session.flush()
        await record_audit(self.session, actor, "notice_contact.delete", "enterprise",
                           row.enterprise_id, before={"id": contact_id, **before},
                           at=self.clock.now())  # fmt: skip

    async def everyone(
        self, actor: Principal, limit: int = 1000
    ) -> list[tuple[NoticeContact, str]]:
        """The contacts the actor may see, with their enterprise's name (staff: all)."""
        query = (sa.select(NoticeContact, Enterprise.name)
                 .join(Enterprise, Enterprise.id == NoticeContact.enterprise_id)
                 .order_by(Enterprise.name, NoticeContact.name).limit(limit))  # fmt: skip
        if not actor.sees_all_enterprises:
            query = query.where(NoticeContact.enterprise_id.in_(actor.enterprise_ids or [0]))
        return [(c, n) for c, n in (await self.session.execute(query)).all()]

    async def of(self, actor: Principal, enterprise_id: int) -> list[NoticeContact]:
        """An enterprise's contacts (staff, or its own users)."""
        if not actor.can_see_enterprise(enterprise_id):
            actor.require_enterprise(enterprise_id)
        rows = await self.session.scalars(
            sa.select(NoticeContact).where(NoticeContact.enterprise_id == enterprise_id)
            .order_by(NoticeContact.name)
        )  # fmt: skip
        return list(rows)
