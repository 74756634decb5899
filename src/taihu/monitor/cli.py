"""`taihu monitor …` commands: power import, indices, data quality, key lists, cases, unblock."""

from __future__ import annotations

import io
from enum import StrEnum
from pathlib import Path

import sqlalchemy as sa
import typer
from openpyxl import Workbook
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.core import InvalidInput, SystemClock
from taihu.core.commands import console, fail, import_file, load_settings, open_database, run
from taihu.enterprises import CreditCode, Enterprise
from taihu.monitor import casework_cli, lists_cli
from taihu.monitor.basis import clear_override, list_overrides, set_override
from taihu.monitor.cli_options import (
    BASELINE_FROM,
    BASELINE_TO,
    SYSTEM,
    baseline_window,
    option_day,
    required_day,
)
from taihu.monitor.groups import GROUP_KINDS
from taihu.monitor.jobs import sync_recent_meters
from taihu.monitor.power import MeterSyncReport, import_power
from taihu.monitor.quality import FlagRange, flag_ranges
from taihu.monitor.schemas import DayIndexOut, SeriesDayOut
from taihu.monitor.service import MonitorService

__all__ = ["app"]

app = typer.Typer(
    help="Operation monitor: power data, resumption indices, key lists, blocker cases.",
    no_args_is_help=True,
)


class Format(StrEnum):
    """Output formats of `taihu monitor index`."""

    TABLE = "table"
    JSON = "json"
    XLSX = "xlsx"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


@app.command("import-power")
def import_power_(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="xlsx or CSV file."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Write the valid rows and skip the others."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate only; write nothing."),
) -> None:
    """Import a grid company's daily electricity file (credit code, date, kWh)."""
    settings = load_settings()
    clock = SystemClock()
    import_file(
        file,
        lambda session, content, progress: import_power(
            session, clock, SYSTEM, file.name, content,
            max_kwh=settings.monitor.max_daily_kwh,
            today=clock.now().astimezone(settings.console.zone).date(),
            skip_invalid=skip_invalid, dry_run=dry_run, progress=progress,
        ),
        dry_run=dry_run,
    )  # fmt: skip


@app.command("sync-meters")
def sync_meters_(
    first: str | None = typer.Option(None, "--first", help="First day (default yesterday)."),
    last: str | None = typer.Option(None, "--last", help="Last day (default today)."),
) -> None:
    """Bring daily use in from the device hub's power meters."""
    settings = load_settings()

    async def _run() -> MeterSyncReport:
        async with open_database(settings) as db:
            return await sync_recent_meters(db, settings, SystemClock(),
                                            first=option_day(first, "--first"),
                                            last=option_day(last, "--last"))  # fmt: skip

    report = run(_run())
    console.print(f"{report.written} enterprise-days written from {report.meters} meters",
                  highlight=False)  # fmt: skip
    for device_id, gap in report.gaps:
        console.print(f"[yellow]meter {device_id}: {gap.kwh:.1f} kWh used between {gap.after} and "
                      f"{gap.before} (days without readings), not put on a day[/]",
                      highlight=False)  # fmt: skip
    for device_id, day in report.resets:
        console.print(f"[yellow]meter {device_id}: the counter dropped on {day}[/]",
                      highlight=False)  # fmt: skip


@app.command("index")
def index(
    day: str = typer.Option(..., "--date", help="The day, YYYY-MM-DD."),
    group: str | None = typer.Option(None, "--group", help=", ".join(GROUP_KINDS)),
    output_format: Format = typer.Option(Format.TABLE, "--format", help="table, json or xlsx."),
    output: Path | None = typer.Option(None, "--output", "-o", help="xlsx file to write."),
    theta: float | None = typer.Option(None, "--theta", help="Override TAIHU_MONITOR_THETA."),
    resumed_only: bool = typer.Option(
        False, "--resumed-only", help="Production rate over resumed enterprises only."
    ),
    baseline_from: str | None = BASELINE_FROM,
    baseline_to: str | None = BASELINE_TO,
) -> None:
    """The day's resumption indices for the district and, with --group, per group."""
    settings = load_settings()
    when = required_day(day, "--date")
    window = baseline_window(baseline_from, baseline_to)

    async def _run() -> DayIndexOut:
        async with open_database(settings) as db, db.session() as session:
            report = await MonitorService(session, settings.monitor).index(
                SYSTEM,
                when,
                [group] if group else [],
                theta=theta,
                resumed_only=resumed_only,
                baseline=window,
            )
            return DayIndexOut.of(report, group)

    result = run(_run())
    if output_format is Format.JSON:
        typer.echo(result.model_dump_json(indent=2))
    elif output_format is Format.XLSX:
        path = output or Path(f"monitor-{when}.xlsx")
        path.write_bytes(_index_xlsx(result))
        console.print(f"wrote {path}", highlight=False)
    else:
        _print_index(result)


def _print_index(result: DayIndexOut) -> None:
    console.print(
        f"[bold]{result.date}[/] 复工率 {_pct(result.resumption_rate)}  "
        f"复产率 {_pct(result.production_rate)}  综合 {_pct(result.composite_index)} "
        f"({result.band or '-'})  {result.resumed}/{result.enterprises} resumed, "
        f"baseline {result.baseline_start} — {result.baseline_end} ({result.baseline_rule}), "
        f"θ {result.theta}",
        highlight=False,
    )
    if result.no_baseline or result.no_reading:
        console.print(f"{len(result.no_baseline)} without baseline, {result.no_reading} without "
                      "a reading that day (not counted)", highlight=False)  # fmt: skip
    if result.groups:
        table = Table(result.group or "group", "name", "counted", "resumed", "no reading",
                      "复工率", "复产率", "综合", "band")  # fmt: skip
        for key, g in result.groups.items():
            table.add_row(key, g.name, str(g.enterprises), str(g.resumed), str(g.no_reading),
                          _pct(g.resumption_rate), _pct(g.production_rate),
                          _pct(g.composite_index), g.band or "-")  # fmt: skip
        console.print(table)


def _index_xlsx(result: DayIndexOut) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "index"
    columns = ["group", "name", "enterprises", "resumed", "no_reading", "energy_kwh",
               "baseline_kwh", "resumption_rate", "production_rate", "composite_index",
               "band"]  # fmt: skip
    sheet.append(["date", result.date.isoformat(), "theta", result.theta, "baseline",
                  f"{result.baseline_start} — {result.baseline_end}"])  # fmt: skip
    sheet.append(columns)
    rows = [("district", "全区 District", result), *((k, g.name, g) for k, g in
                                                     result.groups.items())]  # fmt: skip
    for key, name, values in rows:
        sheet.append([key, name, *(getattr(values, c) for c in columns[2:])])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@app.command("series")
def series(
    first: str = typer.Option(..., "--first", help="First day, YYYY-MM-DD."),
    last: str = typer.Option(..., "--last", help="Last day, YYYY-MM-DD."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON lines instead of a table."),
    group: str | None = typer.Option(
        None, "--group", help="Kind of group: " + ", ".join(GROUP_KINDS)
    ),
    key: str | None = typer.Option(None, "--key", help="The group's id (township code, …)."),
    baseline_from: str | None = BASELINE_FROM,
    baseline_to: str | None = BASELINE_TO,
) -> None:
    """The daily series of the district or one group (one baseline: the last day's window)."""
    settings = load_settings()
    window = baseline_window(baseline_from, baseline_to)

    async def _run() -> list[SeriesDayOut]:
        async with open_database(settings) as db, db.session() as session:
            _, days = await MonitorService(session, settings.monitor).series(
                SYSTEM,
                required_day(first, "--first"),
                required_day(last, "--last"),
                group=group,
                key=key,
                baseline=window,
            )
            return [SeriesDayOut(date=d, **SeriesDayOut.values(v)) for d, v in days]

    days = run(_run())
    if as_json:
        for day in days:
            typer.echo(day.model_dump_json())
        return
    table = Table("date", "counted", "resumed", "no reading", "复工率", "复产率", "综合", "band")
    for d in days:
        table.add_row(d.date.isoformat(), str(d.enterprises), str(d.resumed), str(d.no_reading),
                      _pct(d.resumption_rate), _pct(d.production_rate),
                      _pct(d.composite_index), d.band or "-")  # fmt: skip
    console.print(table)


@app.command("flags")
def flags(
    first: str = typer.Option(..., "--first", help="First day, YYYY-MM-DD."),
    last: str = typer.Option(..., "--last", help="Last day, YYYY-MM-DD."),
    baseline_from: str | None = BASELINE_FROM,
    baseline_to: str | None = BASELINE_TO,
) -> None:
    """The data-quality guard's flags (missing days, spikes, mismatches), as runs of days."""
    settings = load_settings()
    window = baseline_window(baseline_from, baseline_to)

    async def _run() -> tuple[list[FlagRange], dict[int, str]]:
        async with open_database(settings) as db, db.session() as session:
            monitor = MonitorService(session, settings.monitor)
            found = await monitor.flags(
                SYSTEM, required_day(first, "--first"), required_day(last, "--last"), window
            )
            return flag_ranges(found), await monitor.names({f.enterprise_id for f in found})

    ranges, names = run(_run())
    table = Table("days", "enterprise", "kind", "detail")
    for r in ranges:
        span = r.first.isoformat() if r.days == 1 else f"{r.first} to {r.last} ({r.days} days)"
        table.add_row(span, names.get(r.enterprise_id, str(r.enterprise_id)), r.kind,
                      r.detail.render())  # fmt: skip
    console.print(table)


async def _enterprise_id(session: AsyncSession, code: str) -> int:
    try:
        credit = CreditCode(code).value
    except InvalidInput as exc:
        fail(exc.message)
    found = await session.scalar(sa.select(Enterprise.id).where(
        Enterprise.credit_code == credit))  # fmt: skip
    if found is None:
        fail(f"no enterprise {credit} is registered")
    return int(found)


@app.command("baseline-set")
def baseline_set(
    code: str = typer.Argument(..., help="The enterprise's credit code."),
    start: str = typer.Option(..., "--from", help="First day of its own window, YYYY-MM-DD."),
    end: str = typer.Option(..., "--to", help="Last day of its own window, YYYY-MM-DD."),
    reason: str = typer.Option("", "--reason", help="Why (kept in the audit log)."),
) -> None:
    """Give an enterprise its own baseline window (its usual one was abnormal); audited."""
    settings = load_settings()
    first, last = required_day(start, "--from"), required_day(end, "--to")

    async def _run() -> None:
        async with open_database(settings) as db, db.session() as session:
            await set_override(session, SYSTEM, await _enterprise_id(session, code), first, last,
                               reason, now=SystemClock().now())  # fmt: skip

    run(_run())
    console.print(f"{code}: baseline window {first} — {last}", highlight=False)


@app.command("baseline-clear")
def baseline_clear(code: str = typer.Argument(..., help="The enterprise's credit code.")) -> None:
    """Measure an enterprise against the request's window again; audited."""
    settings = load_settings()

    async def _run() -> bool:
        async with open_database(settings) as db, db.session() as session:
            return await clear_override(session, SYSTEM, await _enterprise_id(session, code),
                                        now=SystemClock().now())  # fmt: skip

    if not run(_run()):
        fail(f"{code} has no baseline override")
    console.print(f"{code}: baseline override removed", highlight=False)


@app.command("baselines")
def baselines() -> None:
    """The enterprises measured against their own baseline window."""
    settings = load_settings()

    async def _run() -> list[tuple[str, str, str, str, str]]:
        async with open_database(settings) as db, db.session() as session:
            return [(code, name, f"{row.start} — {row.end}", row.reason, row.set_by)
                    for row, code, name in await list_overrides(session, SYSTEM)]  # fmt: skip

    table = Table("credit code", "name", "window", "reason", "set by")
    for row in run(_run()):
        table.add_row(*row)
    console.print(table)


# The key-list and casework commands are kept beside their subjects, listed after these.
app.command("list-create")(lists_cli.list_create)
app.command("list-add")(lists_cli.list_add)
app.command("list-remove")(lists_cli.list_remove)
app.command("lists")(lists_cli.lists)
app.command("snapshot")(lists_cli.snapshot)
app.command("case-open")(casework_cli.case_open)
app.command("case-act")(casework_cli.case_act)
app.command("cases")(casework_cli.cases)
app.command("unblock")(casework_cli.unblock)
