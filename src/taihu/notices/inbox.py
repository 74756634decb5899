"""The enterprise's side of notices: its console inbox, read receipts and acknowledgements.

Receipts are kept per enterprise: the first of its users to open a notice marks it read for the
enterprise (and is named), likewise for acknowledging. A user acting for several enterprises
answers for each of them that received the notice. Withdrawn notices leave the inbox.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import N_, Clock, Conflict, NotFound, SystemClock
from taihu.notices.models import Notice, NoticeRecipient
from taihu.notices.service import Status

__all__ = ["Inbox", "InboxItem"]


@dataclass(frozen=True, slots=True)
class InboxItem:
    """A notice as an enterprise user sees it, with the state of their enterprises' receipts."""

    notice: Notice
    read: bool
    acknowledged: bool


class Inbox:
    """An enterprise user's notices."""

    def __init__(self, session: AsyncSession, clock: Clock | None = None) -> None:
        self.session = session
        self.clock = clock or SystemClock()

    def _mine(self, actor: Principal) -> sa.ColumnElement[bool]:
        actor.require_role(Role.ENTERPRISE)
        return sa.and_(
            NoticeRecipient.enterprise_id.in_(sorted(actor.enterprise_ids)),
            Notice.status == Status.PUBLISHED,
        )

    async def items(self, actor: Principal, *, limit: int = 200) -> list[InboxItem]:
        """The actor's notices, newest first."""
        rows = await self.session.execute(
            sa.select(Notice,
                      sa.func.min(sa.case((NoticeRecipient.read_at.is_(None), 0), else_=1)),
                      sa.func.min(sa.case((NoticeRecipient.acknowledged_at.is_(None), 0),
                                          else_=1)))
            .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
            .where(self._mine(actor)).group_by(Notice.id)
            .order_by(Notice.published_at.desc(), Notice.id.desc()).limit(limit)
        )  # fmt: skip
        return [InboxItem(n, bool(read), bool(ack)) for n, read, ack in rows]

    async def unread(self, actor: Principal) -> int:
        """How many of the actor's notices one of their enterprises has not read."""
        count = await self.session.scalar(
            sa.select(sa.func.count(sa.distinct(Notice.id)))
            .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
            .where(self._mine(actor), NoticeRecipient.read_at.is_(None))
        )  # fmt: skip
        return int(count or 0)

    async def _receipts(
        self, actor: Principal, notice_id: int
    ) -> tuple[Notice, list[NoticeRecipient]]:
        rows = list(await self.session.execute(
            sa.select(Notice, NoticeRecipient)
            .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
            .where(self._mine(actor), Notice.id == notice_id)
            .order_by(NoticeRecipient.enterprise_id)
        ))  # fmt: skip
        if not rows:  # not published, withdrawn, or not for this user's enterprises: all alike
            raise NotFound(N_("no notice {notice}"), code="notice_not_found", notice=notice_id)
        return rows[0][0], [r for _, r in rows]

    async def open(self, actor: Principal, notice_id: int) -> InboxItem:
        """Open a notice: the first opening per enterprise is its read receipt."""
        notice, receipts = await self._receipts(actor, notice_id)
        now, marked = self.clock.now(), []
        for row in receipts:
            if row.read_at is None:
                row.read_at, row.read_by = now, actor.name
                marked.append(row.enterprise_id)
        if marked:
            await self.session.flush()
            await record_audit(self.session, actor, "notice.read", "notice", notice.id,
                               after={"enterprise_ids": marked}, at=now)  # fmt: skip
        return InboxItem(notice, read=True, acknowledged=all(r.acknowledged_at for r in receipts))

    async def acknowledge(self, actor: Principal, notice_id: int) -> InboxItem:
        """Acknowledge a notice that asks for it (reading it too, if not yet)."""
        notice, receipts = await self._receipts(actor, notice_id)
        if not notice.require_ack:
            raise Conflict(N_("notice {notice} asks for no acknowledgement"),
                           code="no_acknowledgement", notice=notice_id)  # fmt: skip
        now, marked = self.clock.now(), []
        for row in receipts:
            if row.read_at is None:
                row.read_at, row.read_by = now, actor.name
            if row.acknowledged_at is None:
                row.acknowledged_at, row.acknowledged_by = now, actor.name
                marked.append(row.enterprise_id)
        if marked:
            await self.session.flush()
            await record_audit(self.session, actor, "notice.acknowledge", "notice", notice.id,
                               after={"enterprise_ids": marked}, at=now)  # fmt: skip
        return InboxItem(notice, read=True, acknowledged=True)

    async def may_read(self, actor: Principal, notice_id: int) -> Notice:
        """The notice if it is in the actor's inbox (to fetch an attachment), else ``NotFound``."""
        notice, _ = await self._receipts(actor, notice_id)
        return notice
