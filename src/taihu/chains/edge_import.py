"""Bulk import of supply edges from a spreadsheet, validated row by row before anything is written.

Problems are reported as (row, column, reason): an unknown enterprise, a negative or
non-numeric value, a supplier that is its own buyer, an unknown ring, or an edge that would
make one input flow in a circle. As with the registry, one bad row stops the file unless
``skip_invalid``; a row is never half-written; a known (supplier, buyer, input) updates the edge.
Reading, the header check and that rule are the shared ``taihu.core.tabular``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role, record_audit
from taihu.chains.models import SupplyEdge
from taihu.chains.service import EdgeIn, check_edge, edge_facts, find_path, record_outside
from taihu.core import Clock, ImportReport, InvalidInput, RowProblem, TableLayout, should_write
from taihu.enterprises import CreditCode, Enterprise

__all__ = ["EDGE_ALIASES", "LAYOUT", "RING_ALIASES", "EdgeRow", "import_edges"]

EDGE_ALIASES = {
    "供应商信用代码": "supplier_code", "供应商代码": "supplier_code", "supplier": "supplier_code",
    "供应商名称": "supplier_name", "供应商": "supplier_name",
    "采购方信用代码": "buyer_code", "采购方代码": "buyer_code", "buyer": "buyer_code",
    "采购品类": "input_category", "品类": "input_category", "input": "input_category",
    "年采购额": "annual_value", "年采购额(万元)": "annual_value", "value": "annual_value",
    "供应商区域": "ring", "区域": "ring",
    "可替代": "substitutable",
    "供应商城市": "supplier_city", "城市": "supplier_city", "city": "supplier_city",
    "供应商省份": "supplier_province", "省份": "supplier_province",
    "province": "supplier_province",
    "供应商国家": "supplier_country", "国家": "supplier_country", "国家/地区": "supplier_country",
    "country": "supplier_country",
}  # fmt: skip
RING_ALIASES = {"区内": "district", "本区": "district", "市内": "city", "省内": "province",
                "国内": "china", "省外": "china", "国外": "abroad", "境外": "abroad"}  # fmt: skip
REQUIRED = ("buyer_code", "input_category", "annual_value")
KNOWN = ("supplier_code", "supplier_name", "buyer_code", "input_category", "annual_value", "ring",
         "substitutable", "supplier_city", "supplier_province", "supplier_country")  # fmt: skip
LAYOUT = TableLayout(EDGE_ALIASES, REQUIRED, KNOWN)
_FLAGS = {"1": True, "true": True, "yes": True, "是": True, "0": False, "false": False,
          "no": False, "否": False, "": False}  # fmt: skip


@dataclass(frozen=True, slots=True)
class EdgeRow:
    """A parsed row, before its enterprises are looked up."""

    row: int
    edge: EdgeIn


async def _codes(session: AsyncSession, codes: set[str]) -> dict[str, Enterprise]:
    found: dict[str, Enterprise] = {}
    ordered = sorted(codes)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        found.update(
            (e.credit_code, e)
            for e in await session.scalars(
                sa.select(Enterprise).where(Enterprise.credit_code.in_(chunk))
            )
        )
    return found


def _parse(number: int, cells: dict[str, str], problems: list[RowProblem]) -> EdgeRow | None:
    before = len(problems)
    for column in REQUIRED:
        if not cells.get(column):
            problems.append(RowProblem(number, column, "required"))
    if not cells.get("supplier_code") and not cells.get("supplier_name"):
        problems.append(RowProblem(number, "supplier_code", "give a credit code or a name"))
    codes = {}
    for column in ("supplier_code", "buyer_code"):
        if cells.get(column):
            try:
                codes[column] = CreditCode(cells[column]).value
            except InvalidInput as exc:
                problems.append(RowProblem(number, column, exc.message))
    value = 0.0
    try:
        value = float(cells.get("annual_value") or 0)
    except ValueError:
        problems.append(
            RowProblem(number, "annual_value", f"{cells['annual_value']!r} is not a number")
        )
    ring = cells.get("ring", "").strip() or "district"
    flag = cells.get("substitutable", "").strip().lower()
    if flag not in _FLAGS:
        problems.append(RowProblem(number, "substitutable", f"{flag!r} is not yes or no"))
    if len(problems) > before:
        return None
    return EdgeRow(number, EdgeIn(
        buyer_code=codes["buyer_code"], input_category=cells["input_category"],
        annual_value=value, ring=RING_ALIASES.get(ring, ring),
        supplier_code=codes.get("supplier_code"), supplier_name=cells.get("supplier_name") or None,
        substitutable=_FLAGS[flag], supplier_city=cells.get("supplier_city") or None,
        supplier_province=cells.get("supplier_province") or None,
        supplier_country=cells.get("supplier_country") or None,
    ))  # fmt: skip


_COLUMN_OF = {
    "bad_ring": "ring", "bad_input": "input_category", "bad_value": "annual_value",
    "bad_supplier": "supplier_name", "self_loop": "supplier_code",
    "unknown_enterprise": "supplier_name", "supply_cycle": "supplier_code",
}  # fmt: skip


async def import_edges(
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
    """Import supply edges from an xlsx or CSV file (admin or bureau)."""
    actor.require_role(Role.BUREAU)
    report = ImportReport()
    sheet = LAYOUT.open(filename, content, report)
    if sheet is None:
        return report
    parsed = [r for n, cells in sheet.rows if (r := _parse(n, cells, report.problems))]
    rows = [(r.row, r.edge) for r in parsed]
    return await write_edges(session, clock, actor, rows, report, skip_invalid=skip_invalid,
                             dry_run=dry_run, progress=progress)  # fmt: skip


async def write_edges(
    session: AsyncSession,
    clock: Clock,
    actor: Principal,
    rows: list[tuple[int, EdgeIn]],
    report: ImportReport,
    *,
    skip_invalid: bool = False,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Check edges against the registry and each other, then write them (or nothing)."""
    actor.require_role(Role.BUREAU)
    accepted = await _validate(session, rows, report)
    report.skipped = max(report.rows, len(rows)) - len(accepted)
    if not should_write(report, skip_invalid=skip_invalid, dry_run=dry_run):
        if dry_run:
            report.created = sum(1 for _, p, _ in accepted if p is None)
            report.updated = len(accepted) - report.created
        return report
    await _apply(session, clock.now(), actor, accepted, report, progress)
    report.applied = True
    return report


_Accepted = list[tuple[SupplyEdge, SupplyEdge | None, EdgeIn]]


async def _validate(
    session: AsyncSession, rows: list[tuple[int, EdgeIn]], report: ImportReport
) -> _Accepted:
    wanted = {e.buyer_code for _, e in rows} | {e.supplier_code for _, e in rows if e.supplier_code}
    known = await _codes(session, wanted)
    existing = {
        (e.supplier_key, e.buyer_id, e.input_category): e
        for e in await session.scalars(sa.select(SupplyEdge))
    }
    flows: dict[str, list[tuple[int | None, int]]] = {}
    for old in existing.values():
        flows.setdefault(old.input_category, []).append((old.supplier_id, old.buyer_id))
    accepted: _Accepted = []
    seen: dict[tuple[str, int, str], int] = {}
    for number, edge in rows:
        buyer = known.get(edge.buyer_code)
        supplier = known.get(edge.supplier_code) if edge.supplier_code else None
        problem = None
        if buyer is None:
            problem = RowProblem(
                number, "buyer_code", f"no enterprise {edge.buyer_code} is registered"
            )
        elif edge.supplier_code and supplier is None:
            problem = RowProblem(
                number, "supplier_code", f"no enterprise {edge.supplier_code} is registered"
            )
        if problem or buyer is None:
            report.problems.append(problem or RowProblem(number, "buyer_code", "unknown"))
            continue
        try:
            row = check_edge(edge, buyer, supplier)
        except InvalidInput as exc:
            report.problems.append(
                RowProblem(number, _COLUMN_OF.get(exc.code or "", ""), exc.message)
            )
            continue
        ident = (row.supplier_key, row.buyer_id, row.input_category)
        if ident in seen:
            report.problems.append(RowProblem(number, "", f"repeats row {seen[ident]}"))
            continue
        previous = existing.get(ident)
        if previous is None and row.supplier_id is not None:
            same = flows.setdefault(row.input_category, [])
            if find_path(same, row.buyer_id, row.supplier_id):
                reason = f"{row.input_category} would flow in a circle back to the supplier"
                report.problems.append(RowProblem(number, "supplier_code", reason))
                continue
            same.append((row.supplier_id, row.buyer_id))
        seen[ident] = number
        accepted.append((row, previous, edge))
    return accepted


async def _apply(
    session: AsyncSession,
    now: datetime,
    actor: Principal,
    accepted: _Accepted,
    report: ImportReport,
    progress: Callable[[int, int], None] | None,
) -> None:
    new = [row for row, previous, _ in accepted if previous is None]
    for row in new:
        row.created_at = now
    await record_outside(session, actor, now, [(row, edge) for row, _, edge in accepted])
    session.add_all(new)
    await session.flush()  # one round trip for the ids, not one per row
    for done, (row, previous, _) in enumerate(accepted, start=1):
        if previous is None:
            await record_audit(session, actor, "supply_edge.create", "supply_edge", row.id,
                               after=edge_facts(row), at=now)  # fmt: skip
            report.created += 1
        else:
            before = edge_facts(previous)
            for name in ("annual_value", "ring", "substitutable", "supplier_name"):
                setattr(previous, name, getattr(row, name))
            previous.source = row.source or previous.source
            after = edge_facts(previous)
            if after != before:
                previous.updated_at = now
                await record_audit(session, actor, "supply_edge.update", "supply_edge",
                                   previous.id, before=before, after=after, at=now)  # fmt: skip
                report.updated += 1
            else:
                report.unchanged += 1
        if progress:
            progress(done, len(accepted))
    await session.flush()
