"""The demo district: fictional enterprises and the platform's users, with a short history.

Names are invented and credit codes synthetic (valid GB 32100 and GB 11714 check characters,
organisation-code part starting ``MA0D``) and flagged ``synthetic``, so no figure is ever
attached to a real company. The history is written
through the ordinary services with a clock walking through the last two weeks, so the audit log
and the console's chart show what a fortnight of use looks like.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from taihu.accounts import AccountService, Principal, Role
from taihu.chains import ChainSpec, TemplateStore
from taihu.core import Database, FrozenClock, utcnow
from taihu.demo.chains import DistrictPlan, plan_district, seed_chains
from taihu.demo.codes import demo_credit_code
from taihu.demo.data_tasks import seed_data_tasks
from taihu.demo.devices import SimulatedDevice, seed_devices
from taihu.demo.identifiers import DEMO_NODE_PREFIX, IDENTIFIER_STEPS, seed_identifiers
from taihu.demo.monitor import seed_monitor
from taihu.demo.nameplates import seed_nameplates
from taihu.demo.notices import seed_notices
from taihu.demo.programmes import seed_programmes
from taihu.demo.reporting import seed_reporting
from taihu.demo.solutions import seed_solutions
from taihu.demo.surveys import seed_surveys
from taihu.enterprises import EnterpriseService
from taihu.identifiers import SecretKeyBox
from taihu.settings import SecuritySettings

__all__ = [
    "DEMO_USERS",
    "ENTERPRISE_NAMES",
    "DemoUser",
    "demo_credit_code",
    "demo_plan",
    "demo_steps",
    "demo_templates",
    "seed_demo",
]

# Fictional enterprises of the district's main sectors (optical fibre and cable, textiles,
# elevators and equipment, electronics).
ENTERPRISE_NAMES = (
    "太湖示范光纤科技有限公司",
    "松陵示范光缆有限公司",
    "盛泽示范丝绸织造有限公司",
    "盛泽示范化纤有限公司",
    "震泽示范纺织科技有限公司",
    "平望示范涤纶有限公司",
    "黎里示范印染有限公司",
    "汾湖示范电梯有限公司",
    "同里示范电梯部件有限公司",
    "七都示范线缆材料有限公司",
    "桃源示范织造有限公司",
    "横扇示范精密机械有限公司",
    "江陵示范电子元件有限公司",
    "八坼示范电路科技有限公司",
    "松陵示范显示材料有限公司",
    "吴江示范集成电路封测有限公司",
    "太湖示范智能装备有限公司",
    "盛泽示范服饰面料有限公司",
    "震泽示范蚕丝制品有限公司",
    "汾湖示范光电科技有限公司",
    "平望示范物流装备有限公司",
    "七都示范通信设备有限公司",
    "黎里示范五金制品有限公司",
    "同里示范曳引机有限公司",
    "桃源示范家纺有限公司",
    "横扇示范羊毛衫有限公司",
    "江陵示范新材料有限公司",
    "八坼示范模具有限公司",
    "吴江示范电缆附件有限公司",
    "太湖示范工业互联网服务有限公司",
)


@dataclass(frozen=True, slots=True)
class DemoUser:
    """A demo account with its (printed) password."""

    username: str
    password: str
    role: Role
    display_name: str
    enterprises: tuple[int, ...] = ()


DEMO_USERS = (
    DemoUser("admin", "taihu-admin", Role.ADMIN, "平台管理员"),
    DemoUser("analyst", "taihu-bureau", Role.BUREAU, "工信局分析员"),
    DemoUser("auditor", "taihu-auditor", Role.AUDITOR, "标识审核员"),
    DemoUser("factory", "taihu-factory", Role.ENTERPRISE, "企业用户", enterprises=(0, 7)),
)

HISTORY_DAYS = 14


async def seed_demo(
    db: Database,
    security: SecuritySettings,
    *,
    seckeys: SecretKeyBox | None = None,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
    base_url: str = "http://127.0.0.1:8000",
) -> list[SimulatedDevice]:
    """Fill an empty, migrated database with the demo district; returns its simulated devices.

    ``base_url`` is the console's address, which the demo devices' identifiers link to.
    """
    end = now or utcnow()
    clock = FrozenClock(end - timedelta(days=HISTORY_DAYS - 1, hours=end.hour))
    system = Principal.system("demo")
    step = (HISTORY_DAYS - 1) * 24 / (len(ENTERPRISE_NAMES) + len(DEMO_USERS))
    async with db.session() as session:
        accounts = AccountService(session, security, clock)
        registry = EnterpriseService(session, clock)
        users = []
        for demo_user in DEMO_USERS:
            users.append(
                await accounts.create_user(
                    system, demo_user.username, demo_user.password, demo_user.role,
                    display_name=demo_user.display_name,
                )
            )  # fmt: skip
            clock.advance(timedelta(hours=step))
        enterprise_ids = []
        for index, name in enumerate(ENTERPRISE_NAMES):
            enterprise = await registry.create(
                system, name, demo_credit_code(index), synthetic=True
            )
            enterprise_ids.append(enterprise.id)
            if progress:
                progress(name)
            clock.advance(timedelta(hours=step))
        for demo_user, user in zip(DEMO_USERS, users, strict=True):
            for index in demo_user.enterprises:
                await accounts.add_membership(system, user, enterprise_ids[index])
        analyst = next(u for u in users if u.username == "analyst")
        await accounts.create_token(system, analyst, name="demo ERP sync", expires_days=90)
        chains = await TemplateStore(session, clock).current()
        plan = demo_plan(chains)
        await seed_chains(session, clock, plan, progress=progress)
    await seed_identifiers(
        db, list(zip(enterprise_ids, ENTERPRISE_NAMES, strict=True)),
        FrozenClock(end - timedelta(days=HISTORY_DAYS - 1, hours=end.hour)),
        days=HISTORY_DAYS, seckeys=seckeys, progress=progress,
    )  # fmt: skip
    await seed_monitor(db, plan, end)
    await seed_notices(db, enterprise_ids, end)
    await seed_reporting(db, end)
    await seed_surveys(db, plan, chains, end)
    await seed_data_tasks(db, plan, end)
    # The district's own IIoT service company (the last enterprise) is one of the pool's providers.
    await seed_solutions(db, enterprise_ids, demo_credit_code(len(ENTERPRISE_NAMES) - 1), end)
    await seed_programmes(db, enterprise_ids, end)
    devices = await seed_devices(db, enterprise_ids, end)
    # The first enterprise's prefix (88.118.1, approved above) names its loom and meter.
    await seed_nameplates(db, enterprise_ids[0], f"{DEMO_NODE_PREFIX}.1", base_url, end)
    return devices


async def demo_templates(db: Database) -> tuple[ChainSpec, ...]:
    """The chain templates the demo plans over: the database's current ones (from the store)."""
    async with db.session() as session:
        return await TemplateStore(session).current()


@cache
def demo_plan(chains: tuple[ChainSpec, ...]) -> DistrictPlan:
    """The demo district's industrial map over the given templates (deterministic)."""
    return plan_district(ENTERPRISE_NAMES, chains)


def demo_steps(chains: tuple[ChainSpec, ...]) -> int:
    """How many times ``seed_demo`` reports progress, planning over ``chains``."""
    plan = demo_plan(chains)
    return len(ENTERPRISE_NAMES) + len(plan.firms) + 1 + len(plan.edges) + IDENTIFIER_STEPS
