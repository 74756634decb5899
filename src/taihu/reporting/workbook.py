"""The upper level's xlsx template: checking bindings against it and filling its bound cells.

The workbook is loaded whole with openpyxl and only the bound cells are written, so styles,
number formats, merged cells, formulas, column widths, data validations and the other sheets
come back as they were. openpyxl cannot carry charts and pictures through a load and a save,
so a template holding drawings is refused rather than returned without them. Pure: bytes in,
bytes out.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openpyxl import load_workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.utils.cell import range_boundaries
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.workbook import Workbook

from taihu.core import N_, InvalidInput

__all__ = ["Anchor", "CellValue", "check_template", "fill", "sheet_names"]

CellValue = float | int | str | None
MAX_TEMPLATE = 5 << 20
MAX_REGION_CELLS = 5000
MAX_COLUMN, MAX_ROW = 16384, 1048576  # XFD, the last row of a sheet


@dataclass(frozen=True, slots=True)
class Anchor:
    """A bound place: one cell (``C4``) or a table region (``B6:F20``) on a sheet."""

    sheet: str
    ref: str

    @property
    def region(self) -> tuple[int, int, int, int]:
        """(first column, first row, last column, last row), 1-based."""
        try:
            cols = range_boundaries(self.ref.upper())
        except (ValueError, TypeError):
            raise InvalidInput(
                N_("{ref} is no cell or range"), code="bad_anchor", ref=self.ref[:40]
            ) from None
        if any(c is None for c in cols):
            raise InvalidInput(
                N_("{ref} is no cell or range"), code="bad_anchor", ref=self.ref[:40]
            )
        c1, r1, c2, r2 = (int(c) for c in cols)  # type: ignore[arg-type]  # None refused above
        if not (1 <= c1 <= c2 <= MAX_COLUMN and 1 <= r1 <= r2 <= MAX_ROW):
            raise InvalidInput(
                N_("{ref} is no cell or range"), code="bad_anchor", ref=self.ref[:40]
            )
        if (c2 - c1 + 1) * (r2 - r1 + 1) > MAX_REGION_CELLS:
            raise InvalidInput(
                N_("{ref} spans more than {top} cells"),
                code="bad_anchor",
                ref=self.ref[:40],
                top=MAX_REGION_CELLS,
            )
        return c1, r1, c2, r2

    @property
    def is_cell(self) -> bool:
        """Whether the anchor is a single cell."""
        c1, r1, c2, r2 = self.region
        return c1 == c2 and r1 == r2


def _load(content: bytes) -> Workbook:
    if len(content) > MAX_TEMPLATE:
        raise InvalidInput(
            N_("a template is at most {mb} MB"), code="bad_template", mb=MAX_TEMPLATE >> 20
        )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = archive.namelist()
        if any(n.startswith(("xl/charts/", "xl/drawings/", "xl/media/")) for n in names):
            raise InvalidInput(
                N_(
                    "the template holds charts or pictures, which would be lost when filled; "
                    "remove them or keep them on a sheet of another file"
                ),
                code="bad_template",
            )
        # keep_links keeps external links; formulas are read as formulas (data_only is False).
        return load_workbook(io.BytesIO(content), keep_links=True, rich_text=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
        raise InvalidInput(
            N_("not an xlsx workbook: {reason}"), code="bad_template", reason=str(exc)[:200]
        ) from None


def sheet_names(content: bytes) -> list[str]:
    """The sheets of a template, refusing a file that is no usable xlsx workbook."""
    return list(_load(content).sheetnames)


def _cells(book: Workbook, anchor: Anchor) -> list[list[Cell | MergedCell]]:
    if anchor.sheet not in book.sheetnames:
        raise InvalidInput(
            N_("the template has no sheet {sheet}"), code="bad_anchor", sheet=anchor.sheet[:60]
        )
    c1, r1, c2, r2 = anchor.region
    sheet = book[anchor.sheet]
    return [[sheet.cell(row, col) for col in range(c1, c2 + 1)] for row in range(r1, r2 + 1)]


def check_template(content: bytes, anchors: list[Anchor]) -> None:
    """Refuse bindings the template cannot take: bad sheets or refs, merged or formula cells."""
    book = _load(content)
    for anchor in anchors:
        for row in _cells(book, anchor):
            for cell in row:
                if isinstance(cell, MergedCell):
                    raise InvalidInput(
                        N_("{sheet}!{cell} lies inside merged cells; bind the merge's first cell"),
                        code="bad_anchor",
                        sheet=anchor.sheet[:60],
                        cell=cell.coordinate,
                    )
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    raise InvalidInput(
                        N_("{sheet}!{cell} holds a formula, which filling would overwrite"),
                        code="bad_anchor",
                        sheet=anchor.sheet[:60],
                        cell=cell.coordinate,
                    )


def _excel(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("="):
        return "'" + value  # a figure's text is never taken as a formula
    return value


def fill(content: bytes, values: Mapping[tuple[str, str], CellValue]) -> bytes:
    """The template with the given cells (``(sheet, "C4")`` → value) written; nothing else."""
    book = _load(content)
    for (sheet, coordinate), value in values.items():
        if sheet not in book.sheetnames:
            continue  # checked when bound; a replaced template may have lost it
        cell = book[sheet][coordinate]
        if isinstance(cell, MergedCell):
            continue
        cell.value = _excel(value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
