"""The one tabular import mechanism: read a sheet, check its header, report per row, decide.

Every file import (enterprises, supply edges, chain templates) goes the same way, so users see
the same behaviour everywhere:

    read_sheet     xlsx or CSV (UTF-8 or GB 18030) → header names (through the import's
                   aliases, English and Chinese) and (row number, {column: text}) rows
    TableLayout    the import's columns: required ones missing stop the file; unknown ones are
                   reported and the rows still checked, but nothing is written
    RowProblem     (row, column, reason); row numbers are the ones a person sees in the
                   spreadsheet program (the header is row 1), so a report points at a cell
    ImportReport   rows, created, updated, unchanged, skipped, applied, problems
    should_write   all-or-nothing by default; the valid rows only when asked (skip_invalid);
                   nothing on a dry run or a bad header

Knows nothing of any context.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from pydantic import BaseModel, ConfigDict

from taihu.core.errors import InvalidInput
from taihu.core.messages import N_, Message

__all__ = [
    "MAX_ROWS",
    "ImportReport",
    "ImportReportOut",
    "RowProblem",
    "RowProblemOut",
    "Sheet",
    "TableLayout",
    "parse_yes_no",
    "read_sheet",
    "should_write",
]

MAX_ROWS = 100_000
_YES = frozenset({"1", "true", "yes", "y", "是"})
_NO = frozenset({"", "0", "false", "no", "n", "否"})


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why one cell (or row, when ``column`` is empty) was refused."""

    row: int
    column: str
    # A Message is shown in the reader's language by the console; plain text as it is.
    message: Message | str

    @property
    def reason(self) -> str:
        """The reason in English (the API's report, the CLI's table)."""
        return self.message.render() if isinstance(self.message, Message) else self.message


@dataclass(slots=True)
class ImportReport:
    """What an import did, or would have done."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    applied: bool = False
    problems: list[RowProblem] = field(default_factory=list)
    bad_header: bool = False  # a column missing or unknown: rows are checked, none written


class RowProblemOut(BaseModel):
    """One refused cell of an import file (row 1 is the header)."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [{"row": 7, "column": "industry_code", "reason": "'9999' is not a class"}]
        },
    )

    row: int
    column: str
    reason: str


class ImportReportOut(BaseModel):
    """What an import did; ``applied`` is false when nothing was written."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "rows": 3, "created": 0, "updated": 0, "unchanged": 0, "skipped": 1,
                    "applied": False,
                    "problems": [{"row": 3, "column": "credit_code", "reason": "required"}],
                }
            ]
        },
    )  # fmt: skip

    rows: int
    created: int
    updated: int
    unchanged: int
    skipped: int
    applied: bool
    problems: list[RowProblemOut]


def parse_yes_no(text: str) -> bool | None:
    """A yes/no cell (1/0, true/false, yes/no, 是/否; empty is no), or None when it is neither."""
    value = text.strip().lower()
    if value in _YES:
        return True
    return False if value in _NO else None


def should_write(report: ImportReport, *, skip_invalid: bool, dry_run: bool) -> bool:
    """Whether an import writes: not on a dry run or a bad header; with problems, on request."""
    if dry_run or report.bad_header:
        return False
    return not report.problems or skip_invalid


@dataclass(frozen=True, slots=True)
class Sheet:
    """A table: normalised header names and ``(row number, {column: text})`` rows."""

    columns: tuple[str, ...]
    rows: tuple[tuple[int, dict[str, str]], ...]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 1234 typed in a cell as 1234.0
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _xlsx_rows(content: bytes) -> Iterator[list[str]]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise InvalidInput(
            N_("not a readable xlsx workbook: {exc}"), exc=str(exc), code="bad_file"
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [_text(v) for v in row]
    finally:
        workbook.close()


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("gb18030")  # what spreadsheet programs in China save as "CSV"
        except UnicodeDecodeError as exc:
            raise InvalidInput(
                N_("the CSV file is neither UTF-8 nor GB 18030 text"), code="bad_file"
            ) from exc
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            yield [cell.strip() for cell in row]
    except csv.Error as exc:  # e.g. a field past the csv module's limit (128 KiB)
        raise InvalidInput(
            N_("the CSV file cannot be read: {exc}"), exc=str(exc), code="bad_file"
        ) from exc


def read_sheet(filename: str, content: bytes, aliases: dict[str, str]) -> Sheet:
    """Read the first sheet of an xlsx file or a CSV file; ``aliases`` maps header names."""
    lower = filename.lower()
    if lower.endswith(".xlsx"):
        lines = _xlsx_rows(content)
    elif lower.endswith((".csv", ".txt")):
        lines = _csv_rows(content)
    else:
        raise InvalidInput(
            N_("{filename!r}: give an .xlsx or .csv file"), filename=filename, code="bad_file"
        )
    header = next(lines, None)
    if not header or not any(header):
        raise InvalidInput(N_("{filename!r} has no header row"), filename=filename, code="bad_file")
    columns = []
    for cell in header:
        key = cell.strip().lower().replace(" ", "_")
        columns.append(aliases.get(key, aliases.get(cell.strip(), key)))
    rows: list[tuple[int, dict[str, str]]] = []
    for number, line in enumerate(lines, start=2):
        if not any(line):
            continue  # blank lines between blocks are common in hand-kept sheets
        if len(rows) >= MAX_ROWS:
            raise InvalidInput(
                N_("{filename!r} has more than {max_rows} rows"),
                filename=filename,
                max_rows=MAX_ROWS,
                code="bad_file",
            )
        rows.append(
            (number, {c: (line[i] if i < len(line) else "") for i, c in enumerate(columns)})
        )
    return Sheet(tuple(columns), tuple(rows))


@dataclass(frozen=True, slots=True)
class TableLayout:
    """The columns of one import: header aliases (both languages), required and known columns."""

    aliases: dict[str, str]
    required: tuple[str, ...]
    known: tuple[str, ...]

    def open(self, filename: str, content: bytes, report: ImportReport) -> Sheet | None:
        """Read the file and check its header into ``report``; None without a required column."""
        sheet = read_sheet(filename, content, self.aliases)
        report.rows = len(sheet.rows)
        missing = [c for c in self.required if c not in sheet.columns]
        gone = Message(N_("column missing from the header"))
        report.problems.extend(RowProblem(1, c, gone) for c in missing)
        unknown = [c for c in sheet.columns if c and c not in self.known]
        report.problems.extend(
            RowProblem(
                1, c, Message(N_("unknown column (known: {known})"), known=", ".join(self.known))
            )
            for c in unknown
        )
        report.bad_header = bool(missing or unknown)
        return None if missing else sheet
