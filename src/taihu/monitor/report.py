"""The weekly snapshot of a key-enterprise list, in the fixed layout an upper department asks for.

One sheet, ``周报``; cell positions never move (docs/monitor.md draws them):

    row 1   A1 title "<list> 复工复产周报"
    row 2   A2 "周期 Week"  B2 "<Monday> — <Sunday>"  D2 "θ"  E2 theta  G2 "基准期 Baseline"
            H2 "<first> — <last>"
    row 3   A3 "复工率 Resumption" B3  C3 "复产率 Production" D3  E3 "综合指数 Composite" F3
            G3 "企业数 Enterprises" H3     (the list's indices on the week's last day)
    row 5   the header of 18 columns (HEADER below), one row per member from row 6, by name
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

from openpyxl import Workbook

__all__ = ["HEADER", "Snapshot", "SnapshotRow", "snapshot_xlsx"]

FIXED_HEADER = (
    "序号 No.", "统一社会信用代码 Credit code", "企业名称 Enterprise", "镇街 Township",
    "行业代码 Industry", "基准日均用电 Baseline kWh/day",
)  # fmt: skip
TAIL_HEADER = (
    "周日均用电 Week mean kWh/day", "周复产率 Week ratio", "末日复工 Resumed (last day)",
    "预警 Band", "未结诉求 Open cases",
)  # fmt: skip
HEADER = (*FIXED_HEADER, *(f"第{i}天 Day {i}" for i in range(1, 8)), *TAIL_HEADER)
_PERCENT = "0.0%"


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    """One member of the list over the week."""

    credit_code: str
    name: str
    township: str
    industry: str
    baseline: float | None
    days: tuple[float | None, ...]  # seven days, Monday first
    resumed: bool | None  # on the last day; None without a baseline or reading
    band: str | None
    open_cases: int

    @property
    def week_mean(self) -> float | None:
        """Mean daily use over the days with a reading."""
        known = [d for d in self.days if d is not None]
        return sum(known) / len(known) if known else None

    @property
    def week_ratio(self) -> float | None:
        """Week mean over baseline."""
        mean = self.week_mean
        return mean / self.baseline if mean is not None and self.baseline else None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A list's week: the members and the list's indices on the last day."""

    list_name: str
    monday: date
    theta: float
    window: tuple[date, date]
    resumption_rate: float | None
    production_rate: float | None
    composite_index: float | None
    enterprises: int
    rows: tuple[SnapshotRow, ...]


def snapshot_xlsx(snapshot: Snapshot) -> bytes:
    """The snapshot as an xlsx workbook."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "周报"
    sunday = snapshot.monday + timedelta(days=6)
    sheet["A1"] = f"{snapshot.list_name} 复工复产周报"
    sheet["A2"], sheet["B2"] = "周期 Week", f"{snapshot.monday} — {sunday}"
    sheet["D2"], sheet["E2"] = "θ", snapshot.theta
    sheet["G2"] = "基准期 Baseline"
    sheet["H2"] = f"{snapshot.window[0]} — {snapshot.window[1]}"
    for column, label, rate in (
        (1, "复工率 Resumption", snapshot.resumption_rate),
        (3, "复产率 Production", snapshot.production_rate),
        (5, "综合指数 Composite", snapshot.composite_index),
    ):
        sheet.cell(row=3, column=column, value=label)
        sheet.cell(row=3, column=column + 1, value=rate).number_format = _PERCENT
    sheet["G3"], sheet["H3"] = "企业数 Enterprises", snapshot.enterprises
    header = list(HEADER)
    for i in range(7):
        header[len(FIXED_HEADER) + i] = (snapshot.monday + timedelta(days=i)).isoformat()
    for column, title in enumerate(header, start=1):
        sheet.cell(row=5, column=column, value=title)
    for number, row in enumerate(snapshot.rows, start=1):
        resumed = "—" if row.resumed is None else "是" if row.resumed else "否"
        values = [number, row.credit_code, row.name, row.township, row.industry, row.baseline,
                  *row.days, row.week_mean, row.week_ratio, resumed, row.band or "—",
                  row.open_cases]  # fmt: skip
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=5 + number, column=column, value=value)
            if column == len(FIXED_HEADER) + 9:
                cell.number_format = _PERCENT
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
