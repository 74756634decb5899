"""Notices as the bureau writes them and enterprises receive them: audience, receipts, authz."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from taihu.accounts import AuditEntry, Principal, Role
from taihu.core import Conflict, Database, FrozenClock, InvalidInput, NotFound, PermissionDenied
from taihu.notices import (
    Audience,
    Inbox,
    NoticeDraft,
    NoticeRecipient,
    NoticeService,
    publish_due,
    render_body,
    resolve_audience,
)
from tests.conftest import World
from tests.monitor.helpers import code
from tests.notices.helpers import BUREAU, HENGSHAN, SONGLING, district, published


@pytest.mark.parametrize(
    ("kind", "refs", "expected"),
    [
        ("all", (), "abcd"),
        ("township", (SONGLING,), "ab"),
        ("industry", ("383",), "ac"),
        ("industry", ("3832", "28"), "cd"),
        ("chain", ("optical-fibre",), "a"),
        ("list", ("重点",), "c"),
        ("enterprises", (code(1), code(3)), "bd"),
    ],
)
async def test_the_audience_resolves_to_enterprises(
    world: World, db: Database, clock: FrozenClock, kind: str, refs: tuple[str, ...], expected: str
) -> None:
    d = await district(world, db, clock)
    if kind == "list":  # by name and by id alike
        refs = (*refs, str(d.list_id))
    async with db.session() as session:
        ids = await resolve_audience(session, Audience(kind, refs))
    assert ids == sorted(getattr(d, letter) for letter in expected)


@pytest.mark.parametrize(
    ("kind", "refs"),
    [("everyone", ()), ("township", ()), ("township", ("320509999",)), ("industry", ("C38",)),
     ("enterprises", ("91320509MA0M0000XX",))],
)  # fmt: skip
def test_a_bad_audience_is_refused_when_written(kind: str, refs: tuple[str, ...]) -> None:
    with pytest.raises(InvalidInput):
        Audience(kind, refs)


async def test_unknown_chains_and_lists_are_refused_at_publishing(
    world: World, db: Database, clock: FrozenClock
) -> None:
    await district(world, db, clock)
    for audience in (Audience("chain", ("no-such",)), Audience("list", ("没有",))):
        async with db.session() as session:
            with pytest.raises(InvalidInput):
                await resolve_audience(session, audience)


async def test_publishing_keeps_the_recipients_and_the_inbox_counts_receipts(
    world: World, db: Database, clock: FrozenClock
) -> None:
    d = await district(world, db, clock)
    notice_id = await published(db, clock, Audience("township", (HENGSHAN,)), require_ack=True)
    user_c = Principal("c-user", Role.ENTERPRISE, enterprise_ids=frozenset({d.c}))
    user_a = Principal("a-user", Role.ENTERPRISE, enterprise_ids=frozenset({d.a}))
    async with db.session() as session:
        inbox = Inbox(session, clock)
        assert await inbox.unread(user_c) == 1
        assert await inbox.unread(user_a) == 0
        assert await inbox.items(user_a) == []
        with pytest.raises(NotFound):  # an enterprise reads only the notices sent to it
            await inbox.open(user_a, notice_id)
        clock.advance(timedelta(minutes=5))
        item = await inbox.open(user_c, notice_id)
        assert (item.read, item.acknowledged) == (True, False)
        assert await inbox.unread(user_c) == 0
    async with db.session() as session:
        receipts = {r.enterprise_id: r for r in await NoticeService(session, clock).receipts(
            BUREAU, notice_id)}  # fmt: skip
    assert set(receipts) == {d.c, d.d}
    assert receipts[d.c].read_by == "c-user"
    assert receipts[d.c].read_at == clock.now()
    assert receipts[d.d].read_at is None
    async with db.session() as session:
        await Inbox(session, clock).acknowledge(user_c, notice_id)
        # Reminders go to those who have not acknowledged: d only.
        assert await NoticeService(session, clock).remind(BUREAU, notice_id) == 1
        reminded = dict(list(await session.execute(
            sa.select(NoticeRecipient.enterprise_id, NoticeRecipient.reminders))))  # fmt: skip
        actions = list(await session.scalars(sa.select(AuditEntry.action).where(
            AuditEntry.entity_type == "notice").order_by(AuditEntry.id)))  # fmt: skip
    assert reminded == {d.c: 0, d.d: 1}
    assert actions == ["notice.create", "notice.publish", "notice.read", "notice.acknowledge",
                       "notice.remind"]  # fmt: skip


async def test_acknowledging_needs_a_notice_that_asks_for_it(
    world: World, db: Database, clock: FrozenClock
) -> None:
    d = await district(world, db, clock)
    notice_id = await published(db, clock, Audience("all"))
    user = Principal("b-user", Role.ENTERPRISE, enterprise_ids=frozenset({d.b}))
    async with db.session() as session:
        with pytest.raises(Conflict):
            await Inbox(session, clock).acknowledge(user, notice_id)


async def test_only_the_bureau_writes_and_withdrawn_notices_leave_the_inbox(
    world: World, db: Database, clock: FrozenClock
) -> None:
    d = await district(world, db, clock)
    user = Principal("a-user", Role.ENTERPRISE, enterprise_ids=frozenset({d.a}))
    draft = NoticeDraft("t", "b", Audience("all"))
    async with db.session() as session:
        for who in (user, Principal("auditor", Role.AUDITOR)):
            with pytest.raises(PermissionDenied):
                await NoticeService(session, clock).create(who, draft)
        with pytest.raises(PermissionDenied):  # the bureau is no enterprise user
            await Inbox(session, clock).items(BUREAU)
    notice_id = await published(db, clock, Audience("all"))
    async with db.session() as session:
        await NoticeService(session, clock).withdraw(BUREAU, notice_id)
    async with db.session() as session:
        assert await Inbox(session, clock).unread(user) == 0
        with pytest.raises(NotFound):
            await Inbox(session, clock).open(user, notice_id)
        with pytest.raises(Conflict):  # a published notice is not edited in place
            await NoticeService(session, clock).update(BUREAU, notice_id, draft)


async def test_a_scheduled_notice_is_published_when_due(
    world: World, db: Database, clock: FrozenClock
) -> None:
    d = await district(world, db, clock)
    async with db.session() as session:
        service = NoticeService(session, clock)
        notice = await service.create(BUREAU, NoticeDraft("t", "b", Audience("all")))
        await service.publish(BUREAU, notice.id, clock.now() + timedelta(hours=1))
        assert notice.status == "draft"
    assert await publish_due(db, clock) == []
    clock.advance(timedelta(hours=1))
    assert await publish_due(db, clock) == [notice.id]
    user = Principal("d-user", Role.ENTERPRISE, enterprise_ids=frozenset({d.d}))
    async with db.session() as session:
        assert await Inbox(session, clock).unread(user) == 1


async def test_an_empty_audience_publishes_nothing(
    world: World, db: Database, clock: FrozenClock
) -> None:
    await district(world, db, clock)
    async with db.session() as session:
        service = NoticeService(session, clock)
        notice = await service.create(BUREAU, NoticeDraft("t", "b", Audience("industry", ("99",))))
    async with db.session() as session:
        with pytest.raises(InvalidInput):
            await NoticeService(session, clock).publish(BUREAU, notice.id)
    async with db.session() as session:
        assert (await NoticeService(session, clock).get(BUREAU, notice.id)).status == "draft"
        assert await session.scalar(sa.select(sa.func.count()).select_from(NoticeRecipient)) == 0


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        "[click](javascript:alert(1))",
        "[click](JAVASCRIPT:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        "![x](data:text/html;base64,PHNjcmlwdD4=)",
        "<iframe src=//evil.example></iframe>",
    ],
)
def test_the_body_renders_no_script(source: str) -> None:
    rendered = render_body(source).lower()
    assert "<script" not in rendered
    assert "<img" not in rendered
    assert "<iframe" not in rendered
    assert '<a href="javascript' not in rendered
    assert 'href="data:' not in rendered
    assert 'src="data:text' not in rendered


def test_the_body_renders_markdown() -> None:
    assert render_body("**复工** [详见](https://example.gov.cn/a)") == (
        '<p><strong>复工</strong> <a href="https://example.gov.cn/a">详见</a></p>\n'
    )
