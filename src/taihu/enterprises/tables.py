"""Reading a spreadsheet (xlsx or CSV) into a header and rows of text, with row numbers.

Row numbers are the ones a person sees in the spreadsheet program (the header is row 1), so a
validation report can point at a cell. Knows nothing of enterprises.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from taihu.core import N_, InvalidInput

__all__ = ["MAX_ROWS", "Sheet", "read_sheet"]

MAX_ROWS = 100_000


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
