"""Demo identifiers: node prefix 88.118, enterprise prefixes through review, ~50,000 identifiers.

Elevator makers get elevators (with maintenance records), cable makers optical cable reels,
textile mills fabric rolls; values are drawn from a seeded generator, so every demo is the same.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from taihu.accounts import Principal
from taihu.core import Database, FrozenClock
from taihu.identifiers import (
    ApplicationService,
    BatchService,
    HandleValue,
    IdentifierService,
    SecretKeyBox,
    TemplateService,
)

__all__ = ["DEMO_NODE_KEY", "DEMO_NODE_PREFIX", "IDENTIFIER_STEPS", "seed_identifiers"]

DEMO_NODE_PREFIX = "88.118"
DEMO_NODE_KEY = "taihu-demo-node-key"
TOTAL_IDENTIFIERS = 50_000
PENDING = 2  # the last enterprises' applications wait for review

_SECTORS = (
    ("elevator-1.0", ("电梯", "曳引机")),
    ("optical-cable-1.0", ("光纤", "光缆", "线缆", "电缆", "通信")),
    (
        "fabric-1.0",
        ("丝绸", "化纤", "纺织", "涤纶", "印染", "织造", "面料", "蚕丝", "家纺", "羊毛衫"),
    ),
)
_CLASSES = {"elevator-1.0": "3435", "optical-cable-1.0": "3833", "fabric-1.0": "1751"}
_TOWNS = ("松陵镇", "盛泽镇", "震泽镇", "平望镇", "黎里镇", "七都镇", "桃源镇", "同里镇")
_PLACES = ("住宅小区", "商业广场", "人民医院", "中学", "产业园", "地铁站", "酒店", "写字楼")
_MAINTAINERS = (
    "苏州示范电梯维保有限公司",
    "吴江示范特种设备服务有限公司",
    "汾湖示范机电维修有限公司",
)
_WORK = ("半月保养", "季度保养", "更换曳引钢丝绳", "调整门机", "更换层门滑块", "年度检验合格")

IDENTIFIER_STEPS = 30  # progress steps this module reports (one per enterprise)


def _template_of(name: str) -> str | None:
    return next((t for t, words in _SECTORS if any(w in name for w in words)), None)


def _elevator(rng: random.Random, maker: str, n: int, made: date) -> dict[str, str]:
    last = made + timedelta(days=rng.randint(30, 200))
    record = "; ".join(
        f"{(last - timedelta(days=15 * k)).isoformat()} {rng.choice(_WORK)}" for k in range(3)
    )
    return {
        "manufacturer": maker, "model": rng.choice(("HL-2000", "HL-3000", "TH-MRL800", "TH-Z1600")),
        "batch": f"{made.year}-B{made.month:02d}", "productionDate": made.isoformat(),
        "serialNumber": f"E{made.year % 100:02d}{n:07d}",
        "ratedLoadKg": str(rng.choice((630, 800, 1000, 1350, 1600))),
        "ratedSpeed": str(rng.choice((1.0, 1.5, 1.75, 2.5))), "floors": str(rng.randint(6, 33)),
        "installSite": f"吴江区{rng.choice(_TOWNS)}{rng.choice(_PLACES)}{rng.randint(1, 12)}号楼",
        "maintainer": rng.choice(_MAINTAINERS), "lastMaintenance": last.isoformat(),
        "maintenanceRecord": record,
    }  # fmt: skip


def _cable(rng: random.Random, maker: str, n: int, made: date) -> dict[str, str]:
    count = rng.choice((4, 8, 12, 24, 48, 96, 144))
    return {
        "manufacturer": maker, "model": f"GYTA-{count}B1.3",
        "batch": f"C{made:%y%m%d}-{n % 40:02d}",
        "productionDate": made.isoformat(),
        "fiberType": rng.choice(("G.652D", "G.652D", "G.657A1", "G.655")),
        "fiberCount": str(count), "lengthM": str(rng.choice((2000, 3000, 4000))),
        "sheath": rng.choice(("PE", "LSZH")), "standard": "YD/T 901-2018",
    }  # fmt: skip


def _fabric(rng: random.Random, maker: str, n: int, made: date) -> dict[str, str]:
    composition = rng.choice(("100%涤纶", "65%涤纶 35%棉", "100%桑蚕丝", "92%锦纶 8%氨纶"))
    return {
        "manufacturer": maker, "model": f"SZ-{rng.randint(1000, 9999)}",
        "batch": f"F{made:%y%m}{n % 97:02d}",
        "productionDate": made.isoformat(), "composition": composition,
        "weightGsm": str(rng.choice((45, 68, 95, 120, 180, 260))),
        "widthCm": str(rng.choice((145, 150, 160, 280))),
        "color": rng.choice(("藏青", "米白", "黑", "酒红", "雾霾蓝")),
        "grade": rng.choice(("优等品", "一等品", "一等品", "合格品")),
    }  # fmt: skip


_MAKERS = {"elevator-1.0": _elevator, "optical-cable-1.0": _cable, "fabric-1.0": _fabric}
_PREFIX_CODE = {"elevator-1.0": "ELV", "optical-cable-1.0": "OFC", "fabric-1.0": "FAB"}


async def seed_identifiers(
    db: Database,
    enterprises: list[tuple[int, str]],
    clock: FrozenClock,
    *,
    days: int,
    seckeys: SecretKeyBox | None = None,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Prefixes (through the review workflow), templates and identifiers; how many were made."""
    system = Principal.system("demo")
    auditor = Principal("demo-auditor", system.role)
    rng = random.Random(3435)  # noqa: S311 - demo values, not secrets
    start = clock.now()
    async with db.session() as session:
        # Sealed with the platform key, so the node admin can also log in over the Handle wire.
        await IdentifierService(session, clock, seckeys=seckeys).create_prefix(
            system, DEMO_NODE_PREFIX, admin_password=DEMO_NODE_KEY
        )
        await TemplateService(session, clock).install_builtins(system, DEMO_NODE_PREFIX)
    producers = [(i, name, _template_of(name)) for i, name in enterprises]
    makers = [p for p in producers[: len(producers) - PENDING] if p[2]]
    per_maker = TOTAL_IDENTIFIERS // max(1, len(makers))
    total = 0
    per_day: dict[tuple[date, str], int] = {}
    for number, (enterprise_id, name, template) in enumerate(producers, start=1):
        version = template or "elevator-1.0"
        async with db.session() as session:
            applications = ApplicationService(session, clock)
            application = await applications.apply(
                system, enterprise_id, contact=f"{name[:2]}示范联系人 0512-6{number:03d}0000",
                industry_class=_CLASSES[version], prefix=f"{DEMO_NODE_PREFIX}.{number}",
            )  # fmt: skip
            if number > len(producers) - PENDING:
                if progress:
                    progress(name)
                continue
            await applications.approve(auditor, application.id)
            if template is not None:
                records = []
                for n in range(per_maker):
                    at = start + timedelta(seconds=rng.randint(0, (days - 1) * 86400))
                    made = (at - timedelta(days=rng.randint(10, 400))).date()
                    items = _MAKERS[template](rng, name, n, made)
                    values = [
                        HandleValue(index=2000 + k, type=key, data=value.encode(), timestamp=at)
                        for k, (key, value) in enumerate(items.items())
                    ]
                    values.append(
                        HandleValue(
                            index=1001, type="TEMPLATE", data=template.encode(), timestamp=at
                        )
                    )
                    records.append((f"{_PREFIX_CODE[template]}-{n + 1:06d}", values, template, at))
                    key = (at.date(), f"{DEMO_NODE_PREFIX}.{number}")
                    per_day[key] = per_day.get(key, 0) + 1
                total += await BatchService(session, clock).load(
                    system, f"{DEMO_NODE_PREFIX}.{number}", records
                )
        if progress:
            progress(name)
    await _history(db, per_day, rng, clock)
    return total


async def _history(
    db: Database, per_day: dict[tuple[date, str], int], rng: random.Random, clock: FrozenClock
) -> None:
    """Daily statistics for the chart: the registrations made above, resolutions from scans."""
    async with db.session() as session:
        service = IdentifierService(session, clock)
        for (day, prefix), count in sorted(per_day.items()):
            await service.add_stats(
                day, prefix, registrations=count, resolutions=count * rng.randint(3, 9)
            )
