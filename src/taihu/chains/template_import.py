"""Chain templates from a file: JSON, or a table (xlsx or CSV) with one row per segment.

JSON is one template object, a list of them, or ``{"chains": [...]}`` (the shape of the
packaged ``data/chains.json``, so an export imports again). A table has one row per segment,
the chain's columns filled on its first row (and may be repeated); header names in English or
Chinese (``TABLE_ALIASES``). The layout is documented, with examples, in docs/industry-map.md.

Every template is checked before anything is written; problems are reported as (row, column,
reason) (for JSON, row = the template's place in the file). Nothing is written when any
template fails unless ``skip_invalid``; a template is never half-written. A template whose
content equals its current version is left unchanged; a changed one gets its next version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal, Role
from taihu.chains.facts import ChainSpec
from taihu.chains.template_store import SaveOutcome, TemplateStore
from taihu.chains.templates import parse_template
from taihu.core import (
    N_,
    Clock,
    ImportReport,
    InvalidInput,
    RowProblem,
    TableLayout,
    TaihuError,
    should_write,
)

__all__ = ["LAYOUT", "TABLE_ALIASES", "TemplateImport", "import_templates", "read_templates"]

TABLE_ALIASES = {
    "chain_key": "chain", "产业链": "chain", "产业链代码": "chain", "链": "chain",
    "产业链名称": "chain_name_zh", "链名称": "chain_name_zh",
    "产业链英文名称": "chain_name_en", "链英文名称": "chain_name_en",
    "segment": "key", "segment_key": "key", "code": "key", "环节": "key", "环节代码": "key",
    "名称": "name_zh", "中文名称": "name_zh", "环节名称": "name_zh",
    "英文名称": "name_en", "环节英文名称": "name_en",
    "position": "stage", "位置": "stage", "上中下游": "stage",
    "key_segment": "critical", "关键环节": "critical",
    "供给": "supplies", "供给环节": "supplies", "下游环节": "supplies",
    "行业代码": "codes", "gb/t_4754": "codes", "关键词": "keywords", "备注": "note",
}  # fmt: skip
_CHAIN_COLUMNS = ("chain_name_zh", "chain_name_en", "note")
_SEGMENT_COLUMNS = ("key", "name_zh", "name_en", "stage", "critical", "supplies", "codes",
                    "keywords")  # fmt: skip
LAYOUT = TableLayout(
    TABLE_ALIASES, ("chain", "key", "name_zh", "name_en", "stage"),
    ("chain", *_CHAIN_COLUMNS, *_SEGMENT_COLUMNS),
)  # fmt: skip
# Which column an error of a segment points at, by the error's code.
_ERROR_COLUMN = {"bad_stage": "stage", "segment_taken": "key", "chain_exists": "chain"}


@dataclass(slots=True)
class _Draft:
    row: int
    document: dict[str, Any]
    rows: list[int] = field(default_factory=list)


@dataclass(slots=True)
class TemplateImport:
    """The report of a template file, and what happened to each template."""

    report: ImportReport
    templates: list[dict[str, Any]] = field(default_factory=list)


def _from_json(content: bytes) -> list[_Draft]:
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(
            N_("the file is not JSON text: {reason}"), code="bad_file", reason=str(exc)
        ) from exc
    if isinstance(data, dict) and isinstance(data.get("chains"), list):
        data = data["chains"]
    items = data if isinstance(data, list) else [data]
    return [_Draft(i, item if isinstance(item, dict) else {}) for i, item in enumerate(items, 1)]


def _from_table(filename: str, content: bytes, report: ImportReport) -> list[_Draft]:
    sheet = LAYOUT.open(filename, content, report)
    if sheet is None:
        return []
    drafts: dict[str, _Draft] = {}
    for number, cells in sheet.rows:
        key = cells.get("chain", "").strip().lower()
        draft = drafts.setdefault(key, _Draft(number, {"key": key, "segments": []}))
        draft.rows.append(number)
        for column in _CHAIN_COLUMNS:
            name = column.removeprefix("chain_")
            if cells.get(column) and not draft.document.get(name):
                draft.document[name] = cells[column]
        draft.document["segments"].append({c: cells[c] for c in _SEGMENT_COLUMNS if cells.get(c)})
    return list(drafts.values())


def read_templates(
    filename: str, content: bytes, report: ImportReport
) -> list[tuple[int, dict[str, Any], list[int]]]:
    """The templates a file holds: (row, document, rows of its segments), before checking.

    A table's header problems go to ``report`` (the shared tabular rules).
    """
    if filename.lower().endswith(".json"):
        drafts = _from_json(content)
    else:
        drafts = _from_table(filename, content, report)
    return [(d.row, d.document, d.rows) for d in drafts]


def _where(exc: TaihuError, rows: list[int], first: int) -> tuple[int, str]:
    # A segment's own problem names it ("chain segment 3 fibre.x"): point
    # at that row of the table; anything else at the chain's first row.
    where = str(exc.details.get("where", ""))
    column = _ERROR_COLUMN.get(exc.code, "")
    if " segment " in where and rows:
        tail = where.rsplit(" segment ", 1)[1].split(" ", 1)[0]
        if tail.isdigit() and int(tail) <= len(rows):
            return rows[int(tail) - 1], column or "segments"
        return first, column or "segments"
    return first, column or str(exc.details.get("field", ""))


async def import_templates(
    session: AsyncSession,
    clock: Clock,
    actor: Principal,
    filename: str,
    content: bytes,
    *,
    skip_invalid: bool = False,
    dry_run: bool = False,
) -> TemplateImport:
    """Check every template in the file, then write all, the valid ones, or (dry run) none."""
    actor.require_role(Role.BUREAU)
    store = TemplateStore(session, clock)
    report = ImportReport()
    drafts = read_templates(filename, content, report)
    report.rows = len(drafts)
    result = TemplateImport(report)
    ready: list[tuple[ChainSpec, str, str]] = []
    seen: set[str] = set()
    owner: dict[str, str] = {}  # segment key → the chain of this file that has it
    for row, document, rows in drafts:
        try:
            chain = parse_template(document)
            if chain.key in seen:
                raise InvalidInput(
                    N_("chain {chain} is given twice"), code="bad_template", chain=chain.key
                )
            seen.add(chain.key)
            for key in sorted(chain.segment_keys):
                if owner.setdefault(key, chain.key) != chain.key:
                    raise InvalidInput(
                        N_("segment {segment} belongs to chain {chain} already"),
                        code="segment_taken", segment=key, chain=owner[key],
                    )  # fmt: skip
            outcome = await store.check(chain)
        except TaihuError as exc:
            at, column = _where(exc, rows, row)
            report.problems.append(RowProblem(at, column, exc.message))
            report.skipped += 1
            continue
        ready.append((chain, outcome, str(document.get("note", ""))[:300]))
    for _chain, outcome, _note in ready:
        if outcome == SaveOutcome.CREATED:
            report.created += 1
        elif outcome == SaveOutcome.CHANGED:
            report.updated += 1
        else:
            report.unchanged += 1
    if not should_write(report, skip_invalid=skip_invalid, dry_run=dry_run):
        result.templates = [{"key": c.key, "outcome": o, "version": None} for c, o, _ in ready]
        return result
    for chain, _outcome, note in ready:
        saved, outcome = await store.save(actor, chain, note=note or "file import")
        result.templates.append({"key": saved.key, "outcome": outcome, "version": saved.version})
    report.applied = True
    return result
