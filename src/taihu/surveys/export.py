"""Exports of a survey's submissions: one table for the form, one per repeat, joined by keys.

The columns are the union of every version's questions (the newest version's order first, then
questions later versions removed), so an export spans form changes. As ODK Central does, each
row has a ``KEY``; a repeat's rows carry their ``PARENT_KEY`` (the submission's instanceID, or
the enclosing repeat row's key) and their own ``KEY`` (``parent/suppliers[2]``).
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook

__all__ = ["ExportRow", "Table", "build_tables", "csv_zip", "xlsx"]

_MAIN_FIXED = [
    "KEY",
    "SubmissionDate",
    "FormVersion",
    "ReviewState",
    "CreditCode",
    "Enterprise",
    "Submitter",
]


@dataclass(frozen=True, slots=True)
class ExportRow:
    """A submission as the export reads it."""

    instance_id: str
    submitted_at: str
    version: str
    review_state: str
    credit_code: str
    enterprise: str
    submitter: str
    data: dict[str, Any]


@dataclass(slots=True)
class Table:
    """One sheet or CSV file: its name, header and rows."""

    name: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def _columns(versions: Sequence[Sequence[dict[str, Any]]]) -> dict[str | None, list[str]]:
    """Answer columns per repeat (``None``: the form itself), newest version's order first."""
    out: dict[str | None, list[str]] = {None: []}
    for fields in versions:
        for f in fields:
            if f["type"] == "repeat":
                out.setdefault(f["path"], [])
                continue
            columns = out.setdefault(f.get("repeat"), [])
            if f["path"] not in columns:
                columns.append(f["path"])
    return out


def build_tables(
    form_id: str,
    versions_newest_first: Sequence[Sequence[dict[str, Any]]],
    submissions: Iterable[ExportRow],
) -> list[Table]:
    """The form's table and one per repeat, across every version given."""
    columns = _columns(versions_newest_first)
    main = Table(form_id, _MAIN_FIXED + columns[None])
    repeats = {
        path: Table(f"{form_id}-{path.replace('/', '-')}", ["PARENT_KEY", "KEY", *cols])
        for path, cols in columns.items()
        if path is not None
    }
    for s in submissions:
        main.rows.append(
            [
                s.instance_id,
                s.submitted_at,
                s.version,
                s.review_state,
                s.credit_code,
                s.enterprise,
                s.submitter,
            ]
            + [_cell(s.data.get(c)) for c in columns[None]]
        )
        _repeat_rows(s.data, s.instance_id, columns, repeats)
    return [main, *repeats.values()]


def _repeat_rows(
    data: dict[str, Any],
    parent_key: str,
    columns: dict[str | None, list[str]],
    repeats: dict[str, Table],
) -> None:
    for path, value in data.items():
        if not isinstance(value, list) or path not in repeats:
            continue
        name = path.rsplit("/", 1)[-1]
        for position, item in enumerate(value, start=1):
            key = f"{parent_key}/{name}[{position}]"
            repeats[path].rows.append(
                [parent_key, key] + [_cell(item.get(c)) for c in columns[path]]
            )
            _repeat_rows(item, key, columns, repeats)


def _cell(value: Any) -> Any:
    return "" if value is None or isinstance(value, list) else value


def xlsx(tables: Sequence[Table]) -> bytes:
    """The tables as one workbook, a sheet each (names cut to Excel's 31 characters)."""
    book = Workbook(write_only=True)
    used: set[str] = set()
    for table in tables:
        title = table.name[:31]
        suffix = 2
        while title in used:
            title = f"{table.name[:28]}~{suffix}"
            suffix += 1
        used.add(title)
        sheet = book.create_sheet(title)
        sheet.append(table.columns)
        for row in table.rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_zip(tables: Sequence[Table]) -> bytes:
    """The tables as CSV files (UTF-8 with BOM, so spreadsheet programs read Chinese) in a zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for table in tables:
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(table.columns)
            writer.writerows(table.rows)
            archive.writestr(f"{table.name}.csv", "\ufeff" + text.getvalue())
    return buffer.getvalue()
