"""A small district for the notice tests: four enterprises in two townships, a chain and a list."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from taihu.accounts import Principal, Role
from taihu.chains import SegmentTag, TagStatus
from taihu.core import Database, FrozenClock
from taihu.enterprises import Enterprise
from taihu.monitor import MonitorService
from taihu.notices import Audience, Contacts, NoticeDraft, NoticeService
from tests.conftest import World
from tests.monitor.helpers import code

BUREAU = Principal("analyst", Role.BUREAU)
SONGLING, HENGSHAN = "320509001", "320509002"


@dataclass
class District:
    """The ids of the four enterprises (a, b in Songling; c, d in Hengshan) and the list."""

    a: int
    b: int
    c: int
    d: int
    list_id: int


async def district(world: World, db: Database, clock: FrozenClock) -> District:
    """a: Songling, class 3833, optical fibre chain; b: Songling, 1751; c: Hengshan, 3832, key
    list; d: Hengshan, 2811."""
    places = [(SONGLING, "3833"), (SONGLING, "1751"), (HENGSHAN, "3832"), (HENGSHAN, "2811")]
    ids = []
    for i, (town, industry) in enumerate(places):
        e = await world.enterprise(f"示例企业{i}", code(i))
        ids.append(e.id)
        async with db.session() as session:
            await session.execute(sa.update(Enterprise).where(Enterprise.id == e.id)
                                  .values(township_code=town, industry_code=industry))  # fmt: skip
    async with db.session() as session:
        session.add(SegmentTag(enterprise_id=ids[0], segment_key="fibre.chemicals",
                               status=TagStatus.CONFIRMED, score=1.0, reason="test",
                               created_at=clock.now()))  # fmt: skip
        monitor = MonitorService(session, clock)
        key_list = await monitor.create_list(BUREAU, "重点")
        await monitor.set_members(BUREAU, key_list.id, [code(2)])
    return District(*ids, list_id=key_list.id)


async def add_contact(db: Database, clock: FrozenClock, enterprise_id: int, email: str) -> None:
    """Give an enterprise an e-mail contact."""
    async with db.session() as session:
        await Contacts(session, clock).set(BUREAU, enterprise_id, "联系人", email=email)


async def published(
    db: Database, clock: FrozenClock, audience: Audience, *, channels: tuple[str, ...] = (),
    require_ack: bool = False, body: str = "请于本周五前**复工**。",
) -> int:  # fmt: skip
    """Write and publish a notice; its id."""
    async with db.session() as session:
        service = NoticeService(session, clock)
        notice = await service.create(BUREAU, NoticeDraft(
            "复工通知", body, audience, channels=channels, require_ack=require_ack))  # fmt: skip
        await service.publish(BUREAU, notice.id)
        return notice.id
