"""`taihu monitor …` commands: power import, indices, data quality, key lists, cases, unblock."""

from __future__ import annotations

import io
from datetime import date
from enum import StrEnum
from pathlib import Path

import sqlalchemy as sa
import typer
from openpyxl import Workbook
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal
from taihu.core import InvalidInput, SystemClock
from taihu.core.commands import console, fail, import_file, load_settings, open_database, run
from taihu.enterprises import CreditCode, Enterprise, EnterpriseService
from taihu.monitor.basis import clear_override, list_overrides, set_override
from taihu.monitor.casework import CaseFilter, CaseService
from taihu.monitor.groups import GROUP_KINDS
from taihu.monitor.jobs import sync_recent_meters
from taihu.monitor.power import MeterSyncReport, import_power
from taihu.monitor.quality import FlagRange, flag_ranges
from taihu.monitor.report import snapshot_xlsx
from taihu.monitor.schemas import CaseOut, DayIndexOut, SeriesDayOut, UnblockItemOut
from taihu.monitor.service import MonitorService

__all__ = ["app"]

app = typer.Typer(
    help="Operation monitor: power data, resumption indices, key lists, blocker cases.",
    no_args_is_help=True,
)
SYSTEM = Principal.system()


class Format(StrEnum):
    """Output formats of `taihu monitor index`."""

    TABLE = "table"
    JSON = "json"
    XLSX = "xlsx"


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option}: {text!r} is not a date (YYYY-MM-DD)")


def _required_day(text: str, option: str) -> date:
    day = _day(text, option)
    assert day is not None
    return day


def _baseline(start: str | None, end: str | None) -> tuple[date, date] | None:
    first, last = _day(start, "--baseline-from"), _day(end, "--baseline-to")
    if first is None and last is None:
        return None
    if first is None or last is None:
        fail("give both --baseline-from and --baseline-to, or neither")
    return first, last


BASELINE_FROM = typer.Option(
    None, "--baseline-from",
    help="First day of the baseline window (default: from the data, docs/monitor.md).",
)  # fmt: skip
BASELINE_TO = typer.Option(None, "--baseline-to", help="Last day of the baseline window.")


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
                                            first=_day(first, "--first"),
                                            last=_day(last, "--last"))  # fmt: skip

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
    when = _required_day(day, "--date")
    window = _baseline(baseline_from, baseline_to)

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
    window = _baseline(baseline_from, baseline_to)

    async def _run() -> list[SeriesDayOut]:
        async with open_database(settings) as db, db.session() as session:
            _, days = await MonitorService(session, settings.monitor).series(
                SYSTEM,
                _required_day(first, "--first"),
                _required_day(last, "--last"),
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
    window = _baseline(baseline_from, baseline_to)

    async def _run() -> tuple[list[FlagRange], dict[int, str]]:
        async with open_database(settings) as db, db.session() as session:
            monitor = MonitorService(session, settings.monitor)
            found = await monitor.flags(
                SYSTEM, _required_day(first, "--first"), _required_day(last, "--last"), window
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
    first, last = _required_day(start, "--from"), _required_day(end, "--to")

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


@app.command("list-create")
def list_create(
    name: str = typer.Argument(..., help="The list's name, e.g. 重点企业."),
    description: str = typer.Option("", "--description", help="What the list is for."),
) -> None:
    """Create a key-enterprise list."""
    settings = load_settings()

    async def _run() -> int:
        async with open_database(settings) as db, db.session() as session:
            return (await MonitorService(session, settings.monitor).create_list(
                SYSTEM, name, description)).id  # fmt: skip

    console.print(f"list {run(_run())} created", highlight=False)


def _members(list_ref: str, codes: list[str], *, remove: bool) -> None:
    settings = load_settings()

    async def _run() -> int:
        async with open_database(settings) as db, db.session() as session:
            monitor = MonitorService(session, settings.monitor)
            key_list = await monitor.get_list(SYSTEM, list_ref)
            return await monitor.set_members(SYSTEM, key_list.id, codes, remove=remove)

    console.print(f"{run(_run())} enterprise(s) {'removed' if remove else 'added'}",
                  highlight=False)  # fmt: skip


@app.command("list-add")
def list_add(
    list_ref: str = typer.Argument(..., help="List id or name."),
    codes: list[str] = typer.Argument(..., help="Credit codes."),
) -> None:
    """Add enterprises to a key-enterprise list."""
    _members(list_ref, codes, remove=False)


@app.command("list-remove")
def list_remove(
    list_ref: str = typer.Argument(..., help="List id or name."),
    codes: list[str] = typer.Argument(..., help="Credit codes."),
) -> None:
    """Remove enterprises from a key-enterprise list."""
    _members(list_ref, codes, remove=True)


@app.command("lists")
def lists() -> None:
    """Show the key-enterprise lists."""
    settings = load_settings()

    async def _run() -> list[tuple[int, str, int]]:
        async with open_database(settings) as db, db.session() as session:
            found = await MonitorService(session, settings.monitor).lists(SYSTEM)
            return [(k.id, k.name, n) for k, n in found]

    table = Table("id", "name", "members")
    for key, name, count in run(_run()):
        table.add_row(str(key), name, str(count))
    console.print(table)


@app.command("snapshot")
def snapshot(
    list_ref: str = typer.Argument(..., help="List id or name."),
    week: str = typer.Option(..., "--week", help="Any day of the week (Monday to Sunday)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="xlsx file to write."),
) -> None:
    """Export a list's weekly snapshot to xlsx in the fixed layout (docs/monitor.md)."""
    settings = load_settings()

    async def _run() -> tuple[bytes, date]:
        async with open_database(settings) as db, db.session() as session:
            snap = await MonitorService(session, settings.monitor).snapshot(
                SYSTEM, list_ref, _required_day(week, "--week")
            )
            return snapshot_xlsx(snap), snap.monday

    content, monday = run(_run())
    path = output or Path(f"snapshot-{monday}.xlsx")
    path.write_bytes(content)
    console.print(f"wrote {path}", highlight=False)


@app.command("case-open")
def case_open(
    code: str = typer.Argument(..., help="The enterprise's credit code."),
    category: str = typer.Option(
        ..., "--category", help="supplier, logistics, labour, funds, other."
    ),
    title: str = typer.Option(..., "--title", help="What blocks the enterprise."),
    description: str = typer.Option("", "--description", help="Details."),
) -> None:
    """Record a blocker case for an enterprise."""

    async def _run() -> int:
        async with open_database(load_settings()) as db, db.session() as session:
            enterprise = await EnterpriseService(session).get_by_credit_code(code)
            case = await CaseService(session).record(SYSTEM, enterprise.id, category, title,
                                                     description)  # fmt: skip
            return case.id

    console.print(f"case {run(_run())} recorded", highlight=False)


@app.command("case-act")
def case_act(
    case_id: int = typer.Argument(..., help="The case."),
    action: str = typer.Argument(..., help="assign, start, comment, close or reopen."),
    comment: str = typer.Option("", "--comment", help="Comment, or the report-back to close."),
    officer: str | None = typer.Option(None, "--officer", help="Officer (assign)."),
    deadline: str | None = typer.Option(None, "--deadline", help="Deadline (assign)."),
) -> None:
    """Assign, start, comment on, close or reopen a case."""

    async def _run() -> str:
        async with open_database(load_settings()) as db, db.session() as session:
            case = await CaseService(session).act(
                SYSTEM, case_id, action, comment=comment, officer=officer,
                deadline=_day(deadline, "--deadline"),
            )  # fmt: skip
            return case.state

    console.print(f"case {case_id} is {run(_run())}", highlight=False)


@app.command("cases")
def cases(
    state: str | None = typer.Option(None, "--state", help="open, assigned, in_progress, closed."),
    overdue: bool = typer.Option(False, "--overdue", help="Only open cases past their deadline."),
) -> None:
    """List blocker cases, newest first."""

    async def _run() -> list[CaseOut]:
        async with open_database(load_settings()) as db, db.session() as session:
            service = CaseService(session)
            found, _ = await service.find(SYSTEM, CaseFilter(state=state, overdue=overdue),
                                          limit=500)  # fmt: skip
            return [CaseOut.of(c, service.overdue(c)) for c in found]

    table = Table("id", "enterprise", "category", "state", "officer", "deadline", "title")
    for c in run(_run()):
        deadline = str(c.deadline or "-") + (" [red]overdue[/]" if c.overdue else "")
        table.add_row(str(c.id), str(c.enterprise_id), c.category, c.state, c.officer or "-",
                      deadline, c.title)  # fmt: skip
    console.print(table)


@app.command("unblock")
def unblock(
    code: str = typer.Argument(..., help="The key enterprise's credit code."),
    day: str = typer.Option(..., "--date", help="The day whose resumption counts."),
    open_cases: bool = typer.Option(False, "--open-cases", help="Open a case for each supplier."),
    officer: str | None = typer.Option(None, "--officer", help="Assign the new cases to."),
    deadline: str | None = typer.Option(None, "--deadline", help="Deadline of the new cases."),
) -> None:
    """A key enterprise's non-resumed critical suppliers (以点带线扩面), best first."""
    settings = load_settings()
    when = _required_day(day, "--date")

    async def _run() -> tuple[str, list[UnblockItemOut], int]:
        async with open_database(settings) as db, db.session() as session:
            monitor, cases_ = MonitorService(session, settings.monitor), CaseService(session)
            if open_cases:
                key, items, opened = await cases_.open_unblock_cases(
                    SYSTEM, monitor, code, when, officer=officer,
                    deadline=_day(deadline, "--deadline"),
                )  # fmt: skip
            else:
                key, items = await cases_.unblock_list(SYSTEM, monitor, code, when)
                opened = 0
            return key.name, [UnblockItemOut.of(i) for i in items], opened

    name, items, opened = run(_run())
    table = Table("supplier", "credit code", "depth", "restores", "value", "case",
                  title=f"unblock list of {name} on {when}")  # fmt: skip
    for item in items:
        table.add_row(item.name, item.credit_code, str(item.depth), str(item.restores),
                      f"{item.value:.0f}", str(item.case_id or "-"))  # fmt: skip
    console.print(table)
    if open_cases:
        console.print(f"{opened} case(s) opened", highlight=False)
