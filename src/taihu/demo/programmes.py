# ruff: noqa: RUF001 - Chinese demo prose takes full-width punctuation
"""Demo data of the programmes: the district's awards of past years, and applications under way.

Awards go to enterprises drawn with a fixed seed, so that the same ones hold them in every
demo; their shares follow what a manufacturing district of this size reports (about one
enterprise in six star-rated on the cloud, a few benchmark factories, one or two national
pilots). Applications: one waiting for the district, one sent back for changes, one passed on
to the city; the first two by enterprises the demo's enterprise user acts for.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from taihu.accounts import Principal
from taihu.core import Database, FrozenClock
from taihu.enterprises import Enterprise
from taihu.identifiers import DocumentUpload
from taihu.programmes import (
    ApplicationForm,
    ProgrammeApplications,
    ProgrammeService,
    RegistryService,
)

__all__ = ["one_page_pdf", "seed_programmes"]

# programme key, share of the registry holding it, grades cycled over the holders, first year
_AWARDS: tuple[tuple[str, float, tuple[str, ...], int], ...] = (
    ("cloud_stars", 1 / 6, ("3", "2", "4", "3", "1", "5", "2", "3"), 2021),
    ("two_integration", 1 / 14, ("A", "AA", "A", "AAA"), 2021),
    ("specialised_sme", 1 / 16, ("provincial", "provincial", "provincial", "little_giant"), 2022),
    ("benchmark_factory", 1 / 40, ("",), 2023),
    ("provincial_demo_enterprise", 1 / 40, ("",), 2022),
    ("iiot_pilot", 1 / 60, ("",), 2023),
    ("iiot_solution", 1 / 90, ("",), 2024),
    ("first_edition_software", 1 / 90, ("",), 2024),
    ("big_data_pilot", 1 / 120, ("",), 2025),
)

_OWN = (0, 7)  # the named enterprises the demo's enterprise user acts for (dataset.DEMO_USERS)
# (named enterprise index, programme key, what happens at the district)
_APPLICATIONS = (
    (0, "benchmark_factory", ""),
    (7, "provincial_demo_enterprise", "return"),
    (2, "two_integration", "pass"),
)
_SUMMARIES = {
    "benchmark_factory": "拉丝塔与着色机全部联网上云，排程和能耗看板由数据驱动，申报省级标杆工厂。",
    "provincial_demo_enterprise": "整梯与曳引机赋码，维保数据接入平台，故障响应时间缩短三成。",
    "two_integration": "按 GB/T 23001 建立两化融合管理体系，完成内审和管理评审，申请 AA 级评定。",
}
_RETURN_COMMENT = "请补充平台应用前后的对比数据（设备联网数量、响应时间）。"
_FORWARDED = "材料齐全，区级审核通过，报市级。"


def one_page_pdf(title: str) -> bytes:
    """A one-page PDF saying ``title`` (ASCII): the demo's stand-in for a scanned document."""
    stream = f"BT /F1 18 Tf 72 720 Td ({title}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _since(first_year: int, last_year: int, holder: int) -> date:
    """An award day: years from ``first_year`` on, months spread over the holders."""
    year = first_year + holder % (max(last_year, first_year) - first_year + 1)
    return date(year, 1 + holder * 5 % 12, 10 + holder * 3 % 18)


async def seed_programmes(db: Database, named: list[int], end: datetime) -> None:
    """The registry's awards of past years and three applications under way."""
    clock = FrozenClock(end - timedelta(days=30))
    system = Principal.system("demo")
    async with db.session() as session:
        programmes = ProgrammeService(session, clock)
        registry = RegistryService(session, clock)
        # The demo enterprise user's enterprises hold no title yet: theirs come from the
        # applications they make (the browser test walks one to the registry).
        own = {named[i] for i in _OWN}
        pool = [
            e
            for e in await session.scalars(sa.select(Enterprise.id).order_by(Enterprise.id))
            if e not in own
        ]
        rng = random.Random(21)  # noqa: S311 - a reproducible demo, not a secret
        for key, share, grades, first_year in _AWARDS:
            programme = await programmes.by_key(key)
            holders = rng.sample(pool, max(1, round(len(pool) * share)))
            for holder, enterprise_id in enumerate(holders):
                await registry.register(
                    system, programme.id, enterprise_id, grade=grades[holder % len(grades)],
                    since=_since(first_year, end.year - 1, holder),
                    note="示范数据",
                )  # fmt: skip
        applications = ProgrammeApplications(session, clock)
        for index, key, decision in _APPLICATIONS:
            programme = await programmes.by_key(key)
            row = await applications.apply(
                system, programme.id, named[index],
                ApplicationForm("王经理", "0512-63000000", _SUMMARIES[key]),
                [
                    ("licence",
                     DocumentUpload("licence.pdf", one_page_pdf("Business licence (demo)"))),
                    ("application_form",
                     DocumentUpload("form.pdf", one_page_pdf(f"Application: {key}"))),
                ],
            )  # fmt: skip
            clock.advance(timedelta(days=3))
            if decision:
                comment = _RETURN_COMMENT if decision == "return" else _FORWARDED
                await applications.decide(system, row.id, decision, comment)
            clock.advance(timedelta(days=2))
