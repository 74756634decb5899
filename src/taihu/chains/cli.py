"""`taihu chain …` commands: templates, analyses, what-if disruption, edge import."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
from openpyxl import Workbook
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal
from taihu.chains.analysis_schemas import AnalysisOut, DisruptionOut
from taihu.chains.edge_import import import_edges
from taihu.chains.facts import ChainSpec
from taihu.chains.models import ChainTemplateVersion
from taihu.chains.schemas import ChainOut
from taihu.chains.service import ChainService
from taihu.chains.template_import import import_templates
from taihu.chains.template_store import TemplateStore
from taihu.chains.templates import template_document
from taihu.core import ImportReport, SystemClock
from taihu.core.commands import console, fail, import_file, load_settings, open_database, run

__all__ = ["app"]

app = typer.Typer(
    help="Industry chains: templates, gap analysis, disruption.", no_args_is_help=True
)
template_app = typer.Typer(
    help="Chain templates: import from a file, export, history.", no_args_is_help=True
)
app.add_typer(template_app, name="template")


class Format(StrEnum):
    """Output formats of `taihu chain analyze`."""

    TABLE = "table"
    JSON = "json"
    XLSX = "xlsx"


class DisruptFormat(StrEnum):
    """Output formats of `taihu chain disrupt`."""

    TABLE = "table"
    JSON = "json"


BUYER_ROWS = 20
_BAND_STYLE = {"high": "red", "moderate": "yellow", "low": "green"}


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


async def _current() -> tuple[ChainSpec, ...]:
    async with open_database(load_settings()) as db, db.session() as session:
        return await TemplateStore(session).current()


def _banded(text: str, band: str) -> str:
    style = _BAND_STYLE.get(band)
    return f"[{style}]{text}[/]" if style else text


@app.command("list")
def list_() -> None:
    """List the chain templates (current versions) and their segments."""
    for chain in run(_current()):
        out = ChainOut.of(chain)
        table = Table("segment", "stage", "name", "supplies", "GB/T 4754",
                      title=f"{out.key} v{out.version}  {out.name_zh} / {out.name_en}")  # fmt: skip
        for s in out.segments:
            table.add_row(s.key, s.stage, f"{s.name_zh} / {s.name_en}" + (" *" if s.critical
                          else ""), " ".join(s.supplies), " ".join(s.codes))  # fmt: skip
        console.print(table)


@template_app.command("import")
def template_import(
    file: Path = typer.Argument(..., help="A .json, .xlsx or .csv file of chain templates."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Write the valid templates only."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check and count; write nothing."),
) -> None:
    """Create chain templates, or new versions of them, from a file."""
    outcomes: list[dict[str, object]] = []

    async def _work(session: AsyncSession, content: bytes, _progress: object) -> ImportReport:
        result = await import_templates(
            session, SystemClock(), Principal.system(), file.name, content,
            skip_invalid=skip_invalid, dry_run=dry_run,
        )  # fmt: skip
        outcomes.extend(result.templates)
        return result.report

    table = Table("chain", "outcome", "version")
    try:
        import_file(file, _work, dry_run=dry_run)
    finally:
        for t in outcomes:
            table.add_row(str(t["key"]), str(t["outcome"]), str(t["version"] or "-"))
        if outcomes:
            console.print(table)


@template_app.command("export")
def template_export(
    chain: list[str] = typer.Argument(None, help="Chain keys (all when none)."),
    output: Path | None = typer.Option(None, "--output", "-o", help="JSON file to write."),
) -> None:
    """Write the current templates as JSON, in the shape `template import` reads."""
    chains = [c for c in run(_current()) if not chain or c.key in chain]
    unknown = sorted(set(chain or ()) - {c.key for c in chains})
    if unknown:
        fail(f"no chain {unknown[0]}")
    text = json.dumps({"chains": [template_document(c) for c in chains]}, ensure_ascii=False,
                      indent=2)  # fmt: skip
    if output is None:
        typer.echo(text)
        return
    try:
        output.write_text(text + "\n", encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}")
    console.print(f"wrote {output}", highlight=False)


@template_app.command("history")
def template_history(chain: str = typer.Argument(..., help="Chain key.")) -> None:
    """Every version of a chain template, newest first."""

    async def _run() -> list[ChainTemplateVersion]:
        async with open_database(load_settings()) as db, db.session() as session:
            return await TemplateStore(session).history(chain)

    table = Table("version", "name", "segments", "by", "at", "note", title=chain)
    for v in run(_run()):
        table.add_row(str(v.version), f"{v.name_zh} / {v.name_en}", str(len(v.segments)),
                      v.created_by, v.created_at.isoformat(timespec="seconds"), v.note)  # fmt: skip
    console.print(table)


@app.command("analyze")
def analyze(
    chain: str = typer.Argument(..., help="Chain key, e.g. optical-fibre."),
    output_format: Format = typer.Option(Format.TABLE, "--format", help="table, json or xlsx."),
    output: Path | None = typer.Option(None, "--output", "-o", help="xlsx file to write."),
) -> None:
    """Gap and risk analysis of a chain."""

    async def _run() -> AnalysisOut:
        async with open_database(load_settings()) as db, db.session() as session:
            service = ChainService(session)
            template = await service.templates.get(chain)
            analysis, graph = await service.analyze(Principal.system(), chain, template=template)
            return AnalysisOut.of(analysis, graph, template)

    result = run(_run())
    if output_format is Format.JSON:
        typer.echo(result.model_dump_json(indent=2))
    elif output_format is Format.XLSX:
        path = output or Path(f"{chain}-analysis.xlsx")
        _write_xlsx(result, path)
        console.print(f"wrote {path}", highlight=False)
    else:
        _print_analysis(result)


def _print_analysis(result: AnalysisOut) -> None:
    console.print(
        f"[bold]{result.name}[/] ({result.chain}, template v{result.template_version}) "
        f"completeness {result.completeness:.0%}, "
        f"district share {_ratio(result.rings.get('district'))}",
        highlight=False,
    )
    table = Table(
        "segment", "stage", "local", "local supply", "out of region", "HHI (buyers)", "status",
        "chokepoints",
    )  # fmt: skip
    for s in result.segments:
        chokepoints = ", ".join(f"{c['name']} ({c['dependants']})" for c in s.chokepoints)
        table.add_row(
            s.name, s.stage, str(s.local_count), _ratio(s.local_ratio),
            _banded(_ratio(s.outside_share), s.outside_level),
            _banded("-" if s.hhi is None else f"{s.hhi:.2f}", s.hhi_level) + f" ({s.buyers})",
            s.status, chokepoints,
        )  # fmt: skip
    console.print(table)
    limits = result.thresholds
    buyers = Table(
        "buyer", "inputs", "value", "out of region", "highest HHI",
        title=f"buyers (HHI high >= {limits.hhi_high:g}, moderate >= {limits.hhi_moderate:g}; "
        f"out of region high >= {limits.outside_high:.0%}, moderate >= "
        f"{limits.outside_moderate:.0%})",
    )  # fmt: skip
    ranked = sorted(result.buyers, key=lambda b: (-b.outside_share - b.max_hhi, b.buyer.key))
    for b in ranked[:BUYER_ROWS]:
        buyers.add_row(
            b.buyer.name, str(b.inputs), f"{b.value:,.0f}",
            _banded(_ratio(b.outside_share), b.outside_level),
            _banded(f"{b.max_hhi:.2f}", b.hhi_level),
        )  # fmt: skip
    console.print(buyers)
    if len(ranked) > BUYER_ROWS:
        console.print(
            f"… {len(ranked) - BUYER_ROWS} more buyers (--format json or xlsx lists them all)",
            highlight=False,
        )
    suggestions = Table("kind", "target", "reason", title="suggestions")
    for g in result.suggestions:
        suggestions.add_row(g.kind, g.target, g.reason)
    console.print(suggestions)
    if result.betweenness:
        central = Table("enterprise", "betweenness", title="most between")
        for row in result.betweenness:
            central.add_row(str(row["name"]), f"{row['score']:.1f}")
        console.print(central)


def _write_xlsx(result: AnalysisOut, path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "segments"
    sheet.append(["segment", "name", "stage", "critical", "status", "local enterprises",
                  "purchased value", "local supply ratio", "out-of-region share",
                  "out-of-region level", "buyers", "HHI (value-weighted)", "HHI level",
                  "concentrated buyers", "chokepoints"])  # fmt: skip
    for s in result.segments:
        sheet.append([s.key, s.name, s.stage, s.critical, s.status, s.local_count,
                      s.purchased_value, s.local_ratio, s.outside_share, s.outside_level,
                      s.buyers, s.hhi, s.hhi_level, s.concentrated,
                      ", ".join(str(c["name"]) for c in s.chokepoints)])  # fmt: skip
    pairs = book.create_sheet("sourcing")
    pairs.append(["buyer", "credit code", "input", "suppliers", "value", "HHI", "HHI level",
                  "out-of-region share", "out-of-region level", "substitutable"])  # fmt: skip
    for row in result.sourcing:
        pairs.append([row.buyer.name, row.buyer.key, row.input, row.suppliers, row.value,
                      row.hhi, row.hhi_level, row.outside_share, row.outside_level,
                      row.substitutable])  # fmt: skip
    buyers = book.create_sheet("buyers")
    buyers.append(["buyer", "credit code", "inputs", "value", "out-of-region share",
                   "out-of-region level", "highest HHI", "HHI level"])  # fmt: skip
    for b in result.buyers:
        buyers.append([b.buyer.name, b.buyer.key, b.inputs, b.value, b.outside_share,
                       b.outside_level, b.max_hhi, b.hhi_level])  # fmt: skip
    limits = book.create_sheet("thresholds")
    limits.append(["threshold", "value"])
    for name, value in result.thresholds.model_dump().items():
        limits.append([name, value])
    single = book.create_sheet("single source")
    single.append(["buyer", "credit code", "input", "value", "HHI", "substitutable"])
    for row in result.single_source:
        single.append([row.buyer.name, row.buyer.key, row.input, row.value, row.hhi,
                       row.substitutable])  # fmt: skip
    rings = book.create_sheet("rings")
    rings.append(["ring", "share"])
    for ring, share in result.rings.items():
        rings.append([ring, share])
    suggestions = book.create_sheet("suggestions")
    suggestions.append(["kind", "target", "reason", "weight"])
    for g in result.suggestions:
        suggestions.append([g.kind, g.target, g.reason, g.weight])
    central = book.create_sheet("centrality")
    central.append(["enterprise", "credit code", "betweenness", "articulation point"])
    cut = {a.key for a in result.articulation_points}
    for top in result.betweenness:
        central.append([top["name"], top["key"], top["score"], top["key"] in cut])
    try:
        book.save(path)
    except OSError as exc:
        fail(f"cannot write {path}: {exc.strerror}")


@app.command("disrupt")
def disrupt(
    down: list[str] = typer.Option(
        ...,
        "--down",
        help="Credit code of an enterprise that is down, or an outside supplier's name.",
    ),
    output_format: DisruptFormat = typer.Option(
        DisruptFormat.TABLE, "--format", help="table or json."
    ),
) -> None:
    """What-if: who falls when these enterprises are down, and whom to bring back first."""

    async def _run() -> DisruptionOut:
        async with open_database(load_settings()) as db, db.session() as session:
            result, graph = await ChainService(session).disrupt(Principal.system(), down)
            return DisruptionOut.of(result, graph)

    result = run(_run())
    if output_format is DisruptFormat.JSON:
        typer.echo(result.model_dump_json(indent=2))
        return
    fallen = Table("enterprise", "lost input", "depth", title=f"{len(result.fallen)} fall")
    for f in result.fallen:
        fallen.add_row(str(f["name"]), str(f["input"]), str(f["depth"]))
    console.print(fallen)
    console.print(f"annual value at risk: {result.value_at_risk:,.0f} (10k yuan)", highlight=False)
    order = Table("#", "bring back", "restores", "value", title="unblock list (以点带线扩面)")
    for i, u in enumerate(result.unblock, start=1):
        order.add_row(str(i), str(u["name"]), str(len(u["restores"])), f"{u['value']:,.0f}")
    console.print(order)


@app.command("import-edges")
def import_edges_(
    file: Path = typer.Argument(..., help="An .xlsx or .csv file of supply edges."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Write the valid rows only."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and count; write nothing."),
) -> None:
    """Import supply relationships from a spreadsheet, with a validation report."""
    import_file(
        file,
        lambda session, content, progress: import_edges(
            session, SystemClock(), Principal.system(), file.name, content,
            skip_invalid=skip_invalid, dry_run=dry_run, progress=progress,
        ),
        dry_run=dry_run,
    )  # fmt: skip


@app.command("tag")
def tag(
    credit_code: str = typer.Argument(..., help="Credit code of a registered enterprise."),
    segments: list[str] = typer.Argument(..., help="Segment keys, e.g. fibre.preform."),
) -> None:
    """Place an enterprise in chain segments, confirmed (as an analyst would in the console)."""

    async def _run() -> list[str]:
        async with open_database(load_settings()) as db, db.session() as session:
            enterprise = await ChainService(session).enterprise(credit_code)
            service = ChainService(session)
            return [
                (await service.tag(Principal.system(), enterprise.id, key)).segment_key
                for key in segments
            ]

    console.print(json.dumps({"credit_code": credit_code, "confirmed": run(_run())}),
                  highlight=False)  # fmt: skip


@app.command("suggest-tags")
def suggest_tags() -> None:
    """Suggest chain segments for every enterprise (analysts confirm them in the console)."""

    async def _run() -> int:
        async with open_database(load_settings()) as db, db.session() as session:
            return await ChainService(session).suggest_tags(Principal.system())

    console.print(json.dumps({"suggested": run(_run())}), highlight=False)
