"""Import of existing award lists (xlsx or CSV) into the registries, with a row report.

The shared tabular mechanism reads the file and decides: all-or-nothing by default, the valid
rows only with ``skip_invalid``, nothing on a dry run. The enterprise must be in the registry
(by credit code) and the programme known (by key or either name). A row for an award already
held (same programme, enterprise and year) updates its grade and dates, or leaves it unchanged.
The export's layout imports back as it is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
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
from taihu.enterprises import CreditCode, Enterprise
from taihu.programmes.models import Award, Programme
from taihu.programmes.registry import award_until, check_grade, grant_award
from taihu.programmes.service import ProgrammeService

__all__ = ["LAYOUT", "import_awards"]

LAYOUT = TableLayout(
    aliases={
        "项目": "programme",
        "项目名称": "programme_name",
        "统一社会信用代码": "credit_code",
        "信用代码": "credit_code",
        "企业名称": "enterprise_name",
        "级别": "level",
        "等级": "grade",
        "星级": "grade",
        "年度": "year",
        "认定日期": "since",
        "起始日期": "since",
        "有效期至": "until",
        "来源": "source",
        "备注": "note",
    },
    required=("programme", "credit_code", "since"),
    known=(
        "programme",
        "programme_name",
        "credit_code",
        "enterprise_name",
        "level",
        "grade",
        "year",
        "since",
        "until",
        "source",
        "note",
    ),
)


@dataclass(frozen=True, slots=True)
class _Row:
    number: int
    programme: Programme
    enterprise_id: int
    grade: str
    since: date
    until: date | None
    note: str


def _date(text: str) -> date:
    value = text.strip()[:10].replace("/", "-").replace(".", "-")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(N_("{text!r} is not a date (YYYY-MM-DD)"), text=text) from None


async def _lookups(session: AsyncSession, codes: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    ordered = sorted(codes)
    for start in range(0, len(ordered), 500):  # under every database's parameter limit
        rows = await session.execute(
            sa.select(Enterprise.credit_code, Enterprise.id).where(
                Enterprise.credit_code.in_(ordered[start : start + 500])
            )
        )
        found.update((code, ident) for code, ident in rows)
    return found


def _parse(
    number: int,
    cells: dict[str, str],
    programmes: dict[str, Programme],
    enterprises: dict[str, int],
    problems: list[RowProblem],
) -> _Row | None:
    before = len(problems)

    def cell(column: str, parse: Callable[[str], Any]) -> Any:
        try:
            return parse(cells.get(column, "").strip())
        except InvalidInput as exc:
            problems.append(RowProblem(number, column, Message(exc.template, **exc.details)))
            return None

    def programme(text: str) -> Programme:
        if text not in programmes:
            raise InvalidInput(N_("no programme {programme}"), programme=text)
        return programmes[text]

    def enterprise(text: str) -> int:
        code = CreditCode(text).value
        if code not in enterprises:
            raise InvalidInput(N_("no enterprise with credit code {credit_code}"), credit_code=code)
        return enterprises[code]

    found = cell("programme", programme)
    enterprise_id = cell("credit_code", enterprise)
    since = cell("since", _date)
    until = cell("until", lambda t: _date(t) if t else None)
    grade = cell("grade", lambda t: check_grade(found, t)[0] if found else t)
    if found is not None and grade is not None and cells.get("level", "").strip():
        level = check_grade(found, grade)[1]
        if cells["level"].strip() != level:
            problems.append(
                RowProblem(
                    number,
                    "level",
                    Message(N_("the level of this programme and grade is {level}"), level=level),
                )
            )
    if since is not None and cells.get("year", "").strip() not in ("", str(since.year)):
        problems.append(
            RowProblem(
                number,
                "year",
                Message(N_("the year is the year of the since date ({year})"), year=since.year),
            )
        )
    if since is not None and until is not None and until < since:
        problems.append(
            RowProblem(number, "until", Message(N_("an award cannot end before it starts")))
        )
    if len(problems) != before:
        return None
    return _Row(number, found, enterprise_id, grade, since, until, cells.get("note", "")[:500])


async def import_awards(
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
    """Import awards from an xlsx or CSV file (bureau)."""
    actor.require_role(Role.BUREAU)
    report = ImportReport()
    sheet = LAYOUT.open(filename, content, report)
    if sheet is None:
        return report
    programmes: dict[str, Programme] = {}
    for p in await ProgrammeService(session, clock).all():
        programmes.update({p.key: p, p.name_zh: p, p.name_en: p})
    codes = set()
    for _, cells in sheet.rows:
        with contextlib.suppress(InvalidInput):  # reported by the row's own check
            codes.add(CreditCode(cells.get("credit_code", "").strip()).value)
    enterprises = await _lookups(session, codes)
    parsed: list[_Row] = []
    first_seen: dict[tuple[int, int, int], int] = {}
    for number, cells in sheet.rows:
        row = _parse(number, cells, programmes, enterprises, report.problems)
        if row is None:
            continue
        key = (row.programme.id, row.enterprise_id, row.since.year)
        if key in first_seen:
            report.problems.append(
                RowProblem(
                    number, "credit_code", Message(N_("repeats row {row}"), row=first_seen[key])
                )
            )
            continue
        first_seen[key] = number
        parsed.append(row)
    report.skipped = len(sheet.rows) - len(parsed)
    if not should_write(report, skip_invalid=skip_invalid, dry_run=dry_run):
        return report
    for done, row in enumerate(parsed, start=1):
        await _write(session, clock, actor, row, report)
        if progress:
            progress(done, len(parsed))
    report.applied = True
    return report


async def _write(
    session: AsyncSession, clock: Clock, actor: Principal, row: _Row, report: ImportReport
) -> None:
    award = await session.scalar(
        sa.select(Award).where(
            Award.programme_id == row.programme.id,
            Award.enterprise_id == row.enterprise_id,
            Award.year == row.since.year,
        )
    )
    if award is None:
        await grant_award(
            session,
            clock,
            actor,
            row.programme,
            row.enterprise_id,
            grade=row.grade,
            since=row.since,
            until=row.until,
            source="import",
            note=row.note,
        )
        report.created += 1
        return
    until = row.until or award_until(row.programme, row.since)
    level = check_grade(row.programme, row.grade)[1]
    after = {"grade": row.grade, "level": level, "since": row.since, "until": until}
    before = {k: getattr(award, k) for k in after}
    changed = {k: v for k, v in after.items() if before[k] != v}
    if not changed:
        report.unchanged += 1
        return
    for key, value in changed.items():
        setattr(award, key, value)
    await record_audit(
        session,
        actor,
        "programme_award.update",
        "programme_award",
        award.id,
        before={k: str(before[k]) for k in changed},
        after={k: str(v) for k, v in changed.items()},
        at=clock.now(),
    )
    report.updated += 1
