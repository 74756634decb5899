"""File import of identifiers (CSV or xlsx): one row per identifier, an error report per cell.

The first row names the columns: ``suffix`` (or ``handle``), optionally ``templateVersion``,
then one column per template item (``model``, ``batch``, …). Each row is checked on its own;
a row with any error is reported (row, column, reason) and not written at all, the others are
registered through the batch service in chunks of 2,000.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from taihu.accounts import record_audit
from taihu.core import (
    N_,
    Clock,
    Database,
    InvalidInput,
    Message,
    RowProblem,
    SystemClock,
    TaihuError,
)
from taihu.identifiers.handle import (
    TEMPLATE_TYPE,
    Handle,
    HandleValue,
    HandleValueError,
    TemplateError,
    TemplateSpec,
)
from taihu.identifiers.registration.batch import MAX_BATCH, BatchItem, BatchService
from taihu.identifiers.registration.forms import item_problems
from taihu.identifiers.registration.seckeys import SecretKeyBox
from taihu.identifiers.registration.service import (
    Caller,
    HandleAdmin,
    IdentifierService,
    parse_prefix,
)

__all__ = ["ImportError_", "ImportReport", "import_rows", "read_table", "read_table_bytes"]

_FIRST_INDEX = 2000
_TEMPLATE_INDEX = 1001


# One reason a row was not imported: (row, column, message); ``reason`` is the English text.
ImportError_ = RowProblem


@dataclass(slots=True)
class ImportReport:
    """What an import did."""

    rows: int = 0
    imported: int = 0
    unchanged: int = 0
    errors: list[ImportError_] | None = None
    applied: bool = True  # False: a row was refused and nothing was written (all-or-nothing)


def read_table(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV (UTF-8, with or without BOM) or xlsx file as column → text."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(
            N_("cannot read {file}: {reason}"), code="bad_file", file=path.name, reason=exc.strerror
        ) from exc
    return read_table_bytes(path.name, content)


def read_table_bytes(name: str, content: bytes) -> list[dict[str, str]]:
    """The rows of an uploaded CSV or xlsx file (told apart by its name) as column → text."""
    suffix = Path(name).suffix.lower()
    if suffix == ".xlsx":
        return _xlsx_rows(name, content)
    if suffix != ".csv":
        raise InvalidInput(
            N_("{file}: import takes .csv or .xlsx files"), code="bad_file", file=name
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(N_("{file} is not UTF-8 text"), code="bad_file", file=name) from exc
    try:
        return [
            {k.strip(): (v or "").strip() for k, v in row.items() if k}
            for row in csv.DictReader(io.StringIO(text, newline=""))
            if any((v or "").strip() for v in row.values() if isinstance(v, str))
        ]
    except csv.Error as exc:  # e.g. a field past the csv module's limit (128 KiB)
        raise InvalidInput(
            N_("{file} cannot be read as CSV: {reason}"),
            code="bad_file",
            file=name,
            reason=str(exc),
        ) from exc


def _xlsx_rows(name: str, content: bytes) -> list[dict[str, str]]:
    from openpyxl import load_workbook  # noqa: PLC0415 - only needed for xlsx

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InvalidInput(
            N_("{file} is not an xlsx workbook"), code="bad_file", file=name
        ) from exc
    try:
        sheet = book.active
        if sheet is None:
            raise InvalidInput(N_("{file} has no worksheet"), code="bad_file", file=name)
        rows: Iterator[tuple[object, ...]] = sheet.iter_rows(values_only=True)
        header = [str(c).strip() if c is not None else "" for c in next(rows, ())]
        return [
            {h: _cell(v) for h, v in zip(header, row, strict=False) if h}
            for row in rows
            if any(v is not None and str(v).strip() for v in row)
        ]
    finally:
        book.close()  # read-only workbooks keep the file open until closed


def _cell(value: object) -> str:
    if value is None:
        return ""
    if hasattr(value, "date") and hasattr(value, "isoformat"):  # datetime cells → dates
        return str(value.date().isoformat())
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


async def import_rows(
    db: Database,
    caller: Caller,
    prefix: str,
    rows: list[dict[str, str]],
    *,
    template: str | None = None,
    clock: Clock | None = None,
    progress: Callable[[int], None] | None = None,
    source: str | None = None,
    seckeys: SecretKeyBox | None,
    write_valid: bool = True,
) -> ImportReport:
    """Check every row, then register the good ones in chunks, each chunk one transaction.

    ``seckeys`` is the platform's box (``seckeys_for(settings)``): an HS_SECKEY column is then
    sealed as the API routes seal it, so the key can answer a Handle wire challenge. With
    ``source`` (the file's name) the import as a whole is audited too. With ``write_valid``
    false nothing is written when any row is refused (``report.applied`` tells).
    """
    clock = clock or SystemClock()
    prefix = parse_prefix(prefix)
    report = ImportReport(rows=len(rows), errors=[])
    assert report.errors is not None
    specs: dict[str, TemplateSpec] = {}
    good: list[tuple[int, BatchItem]] = []
    async with db.session() as session:
        identifiers = IdentifierService(session, clock)
        for number, row in enumerate(rows, start=2):  # row 1 is the header
            item, problems = await _row(identifiers, specs, prefix, row, template)
            if problems:
                report.errors.extend(ImportError_(number, c, r) for c, r in problems)
            elif item is not None:
                good.append((number, item))
    if report.errors and not write_valid:
        report.applied, good = False, []  # all or nothing: a refused row stops the whole file
    for start in range(0, len(good), MAX_BATCH):
        chunk = good[start : start + MAX_BATCH]
        async with db.session() as session:
            results = await BatchService(session, clock, seckeys=seckeys).write(
                caller, [item for _, item in chunk], update=False
            )
        for (number, _), result in zip(chunk, results, strict=True):
            if result.code == 1:
                report.imported += 1
            elif result.code == 2:
                report.unchanged += 1
            else:
                report.errors.append(ImportError_(number, "suffix", result.message))
        if progress:
            progress(len(chunk))
    report.errors.sort(key=lambda e: e.row)
    if source is not None:
        # Each registered identifier has its own audit entry (from the batch service); this one
        # records the file as a whole, including the rows that were refused.
        actor = caller.principal if isinstance(caller, HandleAdmin) else caller
        async with db.session() as session:
            await record_audit(
                session, actor, "handle.import", "prefix", prefix,
                after={"file": source, "rows": report.rows, "applied": report.applied,
                       "imported": report.imported,
                       "unchanged": report.unchanged, "errors": len(report.errors)},
                at=clock.now(),
            )  # fmt: skip
    return report


async def _row(
    identifiers: IdentifierService,
    specs: dict[str, TemplateSpec],
    prefix: str,
    row: dict[str, str],
    template: str | None,
) -> tuple[BatchItem | None, list[tuple[str, Message]]]:
    suffix_column = "handle" if "handle" in row and "suffix" not in row else "suffix"
    text = row.get(suffix_column, "")
    handle_text = text if suffix_column == "handle" else f"{prefix}/{text}"
    try:
        handle = Handle(handle_text)
    except HandleValueError as exc:
        return None, [(suffix_column, exc.message)]
    if handle.prefix != prefix:
        outside = Message(
            N_("{handle} is not under prefix {prefix}"), handle=handle.text, prefix=prefix
        )
        return None, [(suffix_column, outside)]
    version = row.get("templateVersion") or template
    values: list[HandleValue] = []
    problems: list[tuple[str, Message]] = []
    columns = [c for c in row if c not in {"suffix", "handle", "templateVersion"}]
    for n, column in enumerate(columns):
        if row[column]:
            try:
                values.append(HandleValue(_FIRST_INDEX + n, column, row[column].encode("utf-8")))
            except HandleValueError as exc:
                problems.append((column, exc.message))
    if version:
        values.append(HandleValue(_TEMPLATE_INDEX, TEMPLATE_TYPE, version.encode("utf-8")))
        try:
            if version not in specs:
                specs[version] = await identifiers.template_for(prefix, version)
        except TemplateError as exc:
            problems.append((exc.item or "templateVersion", exc.message))
        except TaihuError as exc:
            problems.append(("templateVersion", Message(exc.template, **exc.details)))
        else:  # every item a row breaks, not only the first
            found = item_problems(specs[version], values)
            problems.extend(found.items())
    if not values:
        problems.append((suffix_column, Message(N_("the row has no values"))))
    return (None if problems else BatchItem(handle.text, values)), problems
