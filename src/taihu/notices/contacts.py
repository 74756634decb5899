"""Where an enterprise receives notices outside the console: named contacts with e-mail or mobile.

A first, small form of the enterprise contacts issue #22 asks for: kept in the notices context
until the registry holds contacts with consent; enterprise users keep their own, the bureau any.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Clock, InvalidInput, NotFound, SystemClock
from taihu.enterprises import Enterprise
from taihu.notices.models import NoticeContact

__all__ = ["Contacts"]

# A deliberately plain check: one @, no spaces, a dot in the domain. The server is the judge.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")  # mainland China mobile numbers


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
        email: str | None = None, phone: str | None = None,
    ) -> NoticeContact:  # fmt: skip
        """Add or change the contact ``name`` of an enterprise."""
        self._may_write(actor, enterprise_id)
        name = " ".join(name.split())
        email = (email or "").strip() or None
        phone = re.sub(r"[\s-]", "", phone or "").removeprefix("+86") or None
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
        before = {"email": row.email, "phone": row.phone} if row else None
        if row is None:
            row = NoticeContact(enterprise_id=enterprise_id, name=name, created_at=self.clock.now())
            self.session.add(row)
        row.email, row.phone = email, phone
        await self.session.flush()
        await record_audit(self.session, actor, "notice_contact.set", "enterprise", enterprise_id,
                           before=before, after={"name": name, "email": email, "phone": phone},
                           at=self.clock.now())  # fmt: skip
        return row

    async def of(self, actor: Principal, enterprise_id: int) -> list[NoticeContact]:
        """An enterprise's contacts (staff, or its own users)."""
        if not actor.can_see_enterprise(enterprise_id):
            actor.require_enterprise(enterprise_id)
        rows = await self.session.scalars(
            sa.select(NoticeContact).where(NoticeContact.enterprise_id == enterprise_id)
            .order_by(NoticeContact.name)
        )  # fmt: skip
        return list(rows)
