"""Bulk import of the registry from a spreadsheet: validate every row, then write or refuse.

The shared tabular mechanism (``taihu.core.tabular``) reads the file, checks the header and
decides: every problem is reported as (row, column, reason), then either the whole file is
written (the default: nothing when any row fails) or, with ``skip_invalid``, the valid rows
only; a row is never half-written. A row whose credit code is registered updates that
enterprise (re-import), others create one. Each write is audited in the same unit of work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.core import (
    N_,
    Clock,
    ImportReport,
    InvalidInput,
    Message,
    RowProblem,
    TableLayout,
    should_write,
)
from taihu.enterprises.credit_code import CreditCode
from taihu.enterprises.models import Enterprise
from taihu.enterprises.profile import Profile, parse_flag

__all__ = ["COLUMN_ALIASES", "LAYOUT", "import_registry"]

# Header names accepted for each column (English as documented, and the Chinese a bureau's
# survey sheet uses).
COLUMN_ALIASES = {
    "统一社会信用代码": "credit_code",
    "信用代码": "credit_code",
    "企业名称": "name",
    "名称": "name",
    "英文名称": "name_en",
    "镇街": "township",
    "所在镇街": "township",
    "township_code": "township",
    "行业代码": "industry_code",
    "行业": "industry_code",
    "industry": "industry_code",
    "规上": "above_size",
    "规上企业": "above_size",
    "重点企业": "key_enterprise",
    "key": "key_enterprise",
    "链主": "chain_leader",
    "链主企业": "chain_leader",
    "从业人员": "employees",
    "营收区间": "revenue_band",
    "revenue": "revenue_band",
    "地址": "address",
    "纬度": "latitude",
    "lat": "latitude",
    "经度": "longitude",
    "lon": "longitude",
    "lng": "longitude",
    "synthetic": "synthetic",
    "合成数据": "synthetic",
}
REQUIRED = ("credit_code", "name")
KNOWN = (*REQUIRED, "name_en", "township", "industry_code", "above_size", "key_enterprise",
         "chain_leader", "employees", "revenue_band", "address", "latitude", "longitude",
         "synthetic")  # fmt: skip
_AUDITED = ("name", *Profile.__dataclass_fields__, "synthetic")
LAYOUT = TableLayout(COLUMN_ALIASES, REQUIRED, KNOWN)


@dataclass(frozen=True, slots=True)
class _Row:
    number: int
    code: str
    name: str
    profile: Profile
    synthetic: bool


def _name(text: str) -> str:
    name = " ".join(text.split())
    if len(name) > 200:
        raise InvalidInput(
            N_("a name has at most 200 characters; this one has {length}"), length=len(name)
        )
    return name


def _number(text: str, kind: type[int] | type[float]) -> int | float | None:
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        wrong = (
            N_("{text!r} is not a whole number") if kind is int else N_("{text!r} is not a number")
        )
        raise InvalidInput(wrong, text=text) from None


def _parse(number: int, cells: dict[str, str], problems: list[RowProblem]) -> _Row | None:
    before = len(problems)

    def cell(column: str, parse: Callable[[str], Any]) -> Any:
        try:
            return parse(cells.get(column, ""))
        except InvalidInput as exc:
            problems.append(RowProblem(number, column, Message(exc.template, **exc.details)))
            return None

    def required(text: str) -> str:
        if not text:
            raise InvalidInput(N_("required"))
        return text

    code = cell("credit_code", lambda t: CreditCode(required(t)).value)
    name = cell("name", lambda t: _name(required(t)))
    flags = {
        f: cell(f, parse_flag)
        for f in ("above_size", "key_enterprise", "chain_leader", "synthetic")
    }
    values: dict[str, Any] = {
        "name_en": cells.get("name_en") or None,
        "address": cells.get("address") or None,
        "employees": cell("employees", lambda t: _number(t, int)),
        "latitude": cell("latitude", lambda t: _number(t, float)),
        "longitude": cell("longitude", lambda t: _number(t, float)),
        "township_code": cells.get("township") or None,
        "industry_code": cells.get("industry_code") or None,
        "revenue_band": cells.get("revenue_band") or None,
    }
    # Profile checks the remaining fields; probe them one by one to report each by column.
    for column, key in (("township", "township_code"), ("industry_code", "industry_code"),
                        ("revenue_band", "revenue_band"), ("employees", "employees"),
                        ("latitude", "latitude")):  # fmt: skip
        if values[key] is None:
            continue
        probe = {key: values[key]}
        if key == "latitude":
            probe["longitude"] = values["longitude"]
        cell(column, partial(_probe, probe))
    if values["longitude"] is not None and values["latitude"] is None:
        both = Message(N_("give both latitude and longitude"))
        problems.append(RowProblem(number, "latitude", both))
    profile = None
    if len(problems) == before:
        profile = Profile(
            **values,
            above_size=bool(flags["above_size"]),
            key_enterprise=bool(flags["key_enterprise"]),
            chain_leader=bool(flags["chain_leader"]),
        )
    if profile is None or code is None or name is None:
        return None
    return _Row(number, code, name, profile, bool(flags["synthetic"]))


def _probe(values: dict[str, Any], _text: str) -> Profile:
    return Profile(**values)


def _given(facts: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in facts.items() if v is not None and v is not False}


def _facts(name: str, profile: Profile, synthetic: bool) -> dict[str, Any]:
    return {"name": name, **profile.as_dict(), "synthetic": synthetic}


async def import_registry(
    session: AsyncSession,
    clock: Clock,
    actor: Principal,
    filename: str,
    content: bytes,
    *,
    skip_invalid: bool = False,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import enterprises from an xlsx or CSV file (admin or bureau)."""
    actor.require_role(Role.BUREAU)
    report = ImportReport()
    sheet = LAYOUT.open(filename, content, report)
    if sheet is None:
        return report
    parsed: list[_Row] = []
    first_seen: dict[str, int] = {}
    for number, cells in sheet.rows:
        row = _parse(number, cells, report.problems)
        if row is None:
            continue
        if row.code in first_seen:
            report.problems.append(
                RowProblem(
                    number,
                    "credit_code",
                    Message(N_("repeats row {row}"), row=first_seen[row.code]),
                )
            )
            continue
        first_seen[row.code] = number
        parsed.append(row)
    report.skipped = len(sheet.rows) - len(parsed)
    if not should_write(report, skip_invalid=skip_invalid, dry_run=dry_run):
        if dry_run and not report.problems:
            report.created, report.updated, report.unchanged = await _plan(session, parsed)
        return report
    await _write(session, clock.now(), actor, parsed, report, progress)
    report.applied = True
    return report


async def _write(
    session: AsyncSession,
    now: datetime,
    actor: Principal,
    parsed: list[_Row],
    report: ImportReport,
    progress: Callable[[int, int], None] | None,
) -> None:
    existing = await _existing(session, [r.code for r in parsed])
    created = {
        row.code: Enterprise(
            credit_code=row.code, created_at=now, **_facts(row.name, row.profile, row.synthetic)
        )
        for row in parsed
        if row.code not in existing
    }
    session.add_all(created.values())
    await session.flush()  # one round trip for the new ids, not one per row
    for done, row in enumerate(parsed, start=1):
        after = _facts(row.name, row.profile, row.synthetic)
        enterprise = existing.get(row.code)
        if enterprise is None:
            enterprise = created[row.code]
            await record_audit(
                session, actor, "enterprise.create", "enterprise", enterprise.id,
                after={"credit_code": row.code, **_given(after)}, at=now,
            )  # fmt: skip
            report.created += 1
        else:
            before = {k: getattr(enterprise, k) for k in _AUDITED}
            changed = {k: v for k, v in after.items() if before[k] != v}
            if changed:
                for key, value in changed.items():
                    setattr(enterprise, key, value)
                enterprise.updated_at = now
                await record_audit(
                    session, actor, "enterprise.update", "enterprise", enterprise.id,
                    before={k: before[k] for k in changed}, after=changed, at=now,
                )  # fmt: skip
                report.updated += 1
            else:
                report.unchanged += 1
        if progress:
            progress(done, len(parsed))
    await session.flush()


async def _existing(session: AsyncSession, codes: list[str]) -> dict[str, Enterprise]:
    found: dict[str, Enterprise] = {}
    for start in range(0, len(codes), 500):  # stay under every database's parameter limit
        rows = await session.scalars(
            sa.select(Enterprise).where(Enterprise.credit_code.in_(codes[start : start + 500]))
        )
        found.update((e.credit_code, e) for e in rows)
    return found


async def _plan(session: AsyncSession, parsed: list[_Row]) -> tuple[int, int, int]:
    existing = await _existing(session, [r.code for r in parsed])
    created = updated = 0
    for row in parsed:
        enterprise = existing.get(row.code)
        if enterprise is None:
            created += 1
        elif any(
            getattr(enterprise, k) != v
            for k, v in _facts(row.name, row.profile, row.synthetic).items()
        ):
            updated += 1
    return created, updated, len(parsed) - created - updated
