"""Demo data of notices: a 复工复产 notice to every enterprise, one to a chain, a scheduled draft.

The resumption notice asks for acknowledgement; the demo enterprise user's first enterprise has
read and acknowledged it, the others have not, so the bureau's receipts page has both and the
factory user's inbox shows one unread notice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from taihu.accounts import Principal, Role
from taihu.core import Database, FrozenClock
from taihu.notices import Audience, Inbox, NoticeDraft, NoticeService

__all__ = ["seed_notices"]

_RESUME = """各企业：

为统筹做好疫情防控和复工复产工作，请各企业：

1. 于复工前 **3 日** 在平台填报复工计划和员工返岗情况；
2. 落实防疫物资储备和员工健康监测；
3. 存在原材料、物流、用工等堵点的，请在平台“个案”中登记，工信局将按“以点带线扩面”协调解决。

请收到后在平台点击“确认收到”。
"""  # noqa: RUF001 - Chinese prose takes full-width punctuation
_CHAIN = """光纤光缆产业链各企业：

工信局拟于下周三下午在七都镇召开产业链上下游供需对接会，请各企业派一名负责人参加，
并提前梳理本企业的配套需求。
"""  # noqa: RUF001 - Chinese prose takes full-width punctuation
_SURVEY = "请各规上工业企业于月底前完成年度统计报表填报。"


async def seed_notices(db: Database, enterprise_ids: list[int], end: datetime) -> None:
    """Publish the demo notices; the factory user (enterprises 0 and 7) has answered the first."""
    clock = FrozenClock(end - timedelta(days=3))
    bureau = Principal("analyst", Role.BUREAU)
    factory = Principal("factory", Role.ENTERPRISE, enterprise_ids=frozenset({enterprise_ids[0]}))
    async with db.session() as session:
        notices = NoticeService(session, clock)
        resume = await notices.create(bureau, NoticeDraft(
            "关于做好复工复产工作的通知", _RESUME, Audience("all"), require_ack=True))  # fmt: skip
        await notices.publish(bureau, resume.id)
        clock.advance(timedelta(hours=2))
        await Inbox(session, clock).acknowledge(factory, resume.id)
        clock.advance(timedelta(days=1))
        chain = await notices.create(
            bureau,
            NoticeDraft(
                "光纤光缆产业链供需对接会通知", _CHAIN, Audience("chain", ("optical-fibre",))
            ),
        )
        await notices.publish(bureau, chain.id)
        survey = await notices.create(bureau, NoticeDraft(
            "年度统计报表填报提醒", _SURVEY, Audience("all")))  # fmt: skip
        await notices.publish(bureau, survey.id, end + timedelta(days=1))
