"""Exports of a survey's submissions: one table for the form, one per repeat, joined by keys.

The columns are the union of every version's questions (the newest version's order first, then
questions later versions removed), so an export spans form changes. As ODK Central does, each
row has a ``KEY``; a repeat's rows carry their ``PARENT_KEY`` (the submission's instanceID, or
the enclosing repeat row's key) and their own ``KEY`` (``parent/suppliers[2]``).

Rows are written as they are read, to spool files on disk (openpyxl's write-only sheets, or a
CSV file per table zipped at the end), so an export of thousands of submissions holds one batch
of them in memory, not the whole survey.
"""

from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from openpyxl import Workbook

__all__ = [
    "CsvZipStream",
    "ExportFormat",
    "ExportRow",
    "Layout",
    "Table",
    "TableSink",
    "build_tables",
    "csv_zip",
    "open_sink",
    "xlsx",
]

ExportFormat = Literal["xlsx", "csv"]

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


class Layout:
    """The tables of a survey's export (names and headers) and how a submission fills them."""

    def __init__(self, form_id: str, versions_newest_first: Sequence[Sequence[dict[str, Any]]]):
        self.columns = _columns(versions_newest_first)
        self.names: dict[str | None, str] = {None: form_id}
        self.headers: dict[str | None, list[str]] = {None: _MAIN_FIXED + self.columns[None]}
        for path, cols in self.columns.items():
            if path is not None:
                self.names[path] = f"{form_id}-{path.replace('/', '-')}"
                self.headers[path] = ["PARENT_KEY", "KEY", *cols]

    def rows(self, s: ExportRow) -> Iterator[tuple[str | None, list[Any]]]:
        """The submission's row of the form's table, then its repeat rows, by table."""
        fixed = [
            s.instance_id,
            s.submitted_at,
            s.version,
            s.review_state,
            s.credit_code,
            s.enterprise,
            s.submitter,
        ]
        yield None, fixed + [_cell(s.data.get(c)) for c in self.columns[None]]
        yield from self._repeat_rows(s.data, s.instance_id)

    def _repeat_rows(
        self, data: dict[str, Any], parent_key: str
    ) -> Iterator[tuple[str | None, list[Any]]]:
        for path, value in data.items():
            if not isinstance(value, list) or path not in self.names:
                continue
            name = path.rsplit("/", 1)[-1]
            for position, item in enumerate(value, start=1):
                key = f"{parent_key}/{name}[{position}]"
                yield path, [parent_key, key] + [_cell(item.get(c)) for c in self.columns[path]]
                yield from self._repeat_rows(item, key)


def _cell(value: Any) -> Any:
    return "" if value is None or isinstance(value, list) else value


class TableSink(Protocol):
    """Where an export's rows go as they are read; ``close`` writes the finished file."""

    def append(self, table: str | None, row: list[Any]) -> None:
        """Write a row to a table (``None``: the form's)."""

    def close(self) -> None:
        """Finish the file (and drop what was spooled)."""


def _sheet_titles(names: Iterable[str]) -> list[str]:
    """Sheet titles for table names, cut to Excel's 31 characters and kept distinct."""
    used: list[str] = []
    for name in names:
        title, suffix = name[:31], 2
        while title in used:
            title = f"{name[:28]}~{suffix}"
            suffix += 1
        used.append(title)
    return used


class _XlsxSink:
    """openpyxl's write-only workbook: each sheet spools its rows to a file of its own."""

    def __init__(self, layout: Layout, target: Path) -> None:
        self.book = Workbook(write_only=True)
        self.target = target
        self.sheets: dict[str | None, Any] = {}
        titles = _sheet_titles(layout.names.values())
        for (key, header), title in zip(layout.headers.items(), titles, strict=True):
            sheet = self.book.create_sheet(title)
            sheet.append(header)
            self.sheets[key] = sheet

    def append(self, table: str | None, row: list[Any]) -> None:
        self.sheets[table].append(row)

    def close(self) -> None:
        self.book.save(self.target)


class _CsvSink:
    """A CSV file per table in a spool directory, zipped into the target when closed."""

    def __init__(self, layout: Layout, target: Path, *, repeats_only: bool = False) -> None:
        self.target = target
        self.spool = tempfile.TemporaryDirectory(prefix="taihu-export-")
        self.files: dict[str | None, tuple[str, IO[str], Any]] = {}
        for index, (key, header) in enumerate(layout.headers.items()):
            if repeats_only and key is None:
                continue
            # Closed in close(), once every row is written.
            handle = (Path(self.spool.name) / f"{index}.csv").open(
                "w", encoding="utf-8-sig", newline=""
            )
            writer = csv.writer(handle)
            writer.writerow(header)
            self.files[key] = (layout.names[key], handle, writer)

    def append(self, table: str | None, row: list[Any]) -> None:
        self.files[table][2].writerow(row)

    def close(self) -> None:
        try:
            with zipfile.ZipFile(self.target, "w", zipfile.ZIP_DEFLATED) as archive:
                for name, handle, _ in self.files.values():
                    handle.close()
                    archive.write(handle.name, f"{name}.csv")
        finally:
            self.spool.cleanup()


class _Chunks(io.RawIOBase):
    """An unseekable file keeping what is written until it is taken.

    Unseekable, zipfile writes a data descriptor after each entry instead of seeking back.
    """

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        return len(chunk)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


class CsvZipStream:
    """The CSV zip written as a stream of bytes.

    The form's table goes out as its rows come; the repeat tables (whose rows come interleaved
    with it) are spooled and follow as later entries.
    """

    def __init__(self, layout: Layout) -> None:
        self.out = _Chunks()
        self.archive = zipfile.ZipFile(self.out, "w", zipfile.ZIP_DEFLATED)
        entry = self.archive.open(f"{layout.names[None]}.csv", "w", force_zip64=True)
        self.main = io.TextIOWrapper(entry, encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.main)
        self.writer.writerow(layout.headers[None])
        self.spool = _CsvSink(layout, Path(), repeats_only=True)

    def append(self, table: str | None, row: list[Any]) -> None:
        """Write a row: the form's into the stream, a repeat's to its spool file."""
        if table is None:
            self.writer.writerow(row)
        else:
            self.spool.append(table, row)

    def take(self) -> bytes:
        """The zip's bytes written since the last take."""
        return self.out.take()

    def close(self) -> None:
        """Drop the spool (also when the stream was abandoned half-way)."""
        for _, handle, _ in self.spool.files.values():
            handle.close()
        self.spool.spool.cleanup()

    def finish(self) -> Iterator[bytes]:
        """The rest of the zip: the form's entry closed, the repeat tables copied in."""
        try:
            self.main.close()
            yield self.out.take()
            for name, handle, _ in self.spool.files.values():
                handle.close()
                with (
                    Path(handle.name).open("rb") as source,
                    self.archive.open(f"{name}.csv", "w", force_zip64=True) as entry,
                ):
                    while block := source.read(1 << 16):
                        entry.write(block)
                        yield self.out.take()
                yield self.out.take()
            self.archive.close()
            yield self.out.take()
        finally:
            self.close()


def open_sink(layout: Layout, fmt: ExportFormat, target: Path) -> TableSink:
    """A sink writing the layout's tables as a workbook or a zip of CSV files at ``target``."""
    return _XlsxSink(layout, target) if fmt == "xlsx" else _CsvSink(layout, target)


def build_tables(
    form_id: str,
    versions_newest_first: Sequence[Sequence[dict[str, Any]]],
    submissions: Iterable[ExportRow],
) -> list[Table]:
    """The form's table and one per repeat, across every version given, in memory."""
    layout = Layout(form_id, versions_newest_first)
    tables = {key: Table(layout.names[key], header) for key, header in layout.headers.items()}
    for s in submissions:
        for key, row in layout.rows(s):
            tables[key].rows.append(row)
    return list(tables.values())


def xlsx(tables: Sequence[Table]) -> bytes:
    """The tables as one workbook, a sheet each (names cut to Excel's 31 characters)."""
    book = Workbook(write_only=True)
    for table, title in zip(tables, _sheet_titles(t.name for t in tables), strict=True):
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
