"""`taihu solution …` commands: tags, providers, search, needs, suggestions, guides."""

from __future__ import annotations

import typer

from taihu.accounts import Principal
from taihu.core.commands import console, load_settings, open_database, run
from taihu.solutions.guides import GuideService
from taihu.solutions.needs import NeedService
from taihu.solutions.pool import PoolService, SearchQuery
from taihu.solutions.subject_documents import SubjectDocuments
from taihu.solutions.suggestions import SuggestionService

__all__ = ["app"]

app = typer.Typer(
    help="The solution pool (行业解决方案资源池), needs and suggestions.", no_args_is_help=True
)


@app.command("tags")
def tags() -> None:
    """List the scenario tags (the built-ins are written on first use)."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            rows = await PoolService(session).tags()
        for t in rows:
            console.print(f"{t.key:<18} {t.name_zh}  {t.name_en}", highlight=False)

    run(_run())


@app.command("add-tag")
def add_tag(
    key: str = typer.Argument(..., help="Tag key, e.g. aps."),
    name_zh: str = typer.Argument(..., help="Chinese name."),
    name_en: str = typer.Argument(..., help="English name."),
) -> None:
    """Add a scenario tag to the vocabulary."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            row = await PoolService(session).add_tag(Principal.system(), key, name_zh, name_en)
        console.print(f"tag {row.key} added", highlight=False)

    run(_run())


@app.command("search")
def search(
    text: str = typer.Argument("", help="Words in either language."),
    tag: str = typer.Option("", "--tag", help="Tag key."),
    industry: str = typer.Option("", "--industry", help="GB/T 4754 code or prefix."),
    segment: str = typer.Option("", "--segment", help="Chain segment key."),
) -> None:
    """Search the pool."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            rows = await PoolService(session).search(SearchQuery(text, tag, industry, segment))
        for s in rows:
            console.print(f"{s.id:>4} {s.title_zh}  [{', '.join(s.tags)}]", highlight=False)

    run(_run())


@app.command("needs")
def needs(status: str | None = typer.Option(None, "--status", help="open, matched …")) -> None:
    """List the needs and their state."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            rows = await NeedService(session).all(Principal.system(), status)
        for n in rows:
            console.print(
                f"{n.id:>4} {n.status:<12} enterprise {n.enterprise_id:<5} {n.title}",
                highlight=False,
            )

    run(_run())


@app.command("need")
def need(
    enterprise: int = typer.Argument(..., help="Enterprise id."),
    title: str = typer.Argument(..., help="What the enterprise needs, in a line."),
    description: str = typer.Option("", "--description"),
    tag: list[str] = typer.Option([], "--tag", help="A scenario tag (repeatable)."),
) -> None:
    """Post a need for an enterprise (as it would in the console)."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            row = await NeedService(session).post(
                Principal.system(), enterprise, title, description, tuple(tag)
            )
        console.print(f"need {row.id}: {row.status}", highlight=False)

    run(_run())


@app.command("act")
def act(
    need_id: int = typer.Argument(..., help="Need id."),
    action: str = typer.Argument(..., help="match, start, close or withdraw."),
    comment: str = typer.Option("", "--comment", help="Needed to close: how it ended."),
    provider: int | None = typer.Option(None, "--provider", help="Matched provider id."),
    solution: int | None = typer.Option(None, "--solution", help="Matched solution id."),
    outcome: str = typer.Option("", "--outcome", help="On close: the need's outcome."),
) -> None:
    """Move a need along: match it to a provider or solution, start, close with its outcome."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            row = await NeedService(session).act(
                Principal.system(), need_id, action, comment, provider_id=provider,
                solution_id=solution, outcome=outcome,
            )  # fmt: skip
        console.print(f"need {row.id}: {row.status}", highlight=False)

    run(_run())


@app.command("suggest")
def suggest(enterprise: int = typer.Argument(..., help="Enterprise id.")) -> None:
    """The solutions the pool suggests for an enterprise, with the reasons."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            found = await SuggestionService(session).for_enterprise(Principal.system(), enterprise)
        for s in found:
            reasons = "; ".join(r.render() for r in s.reasons)
            console.print(f"{s.solution.id:>4} {s.solution.title_zh}: {reasons}", highlight=False)

    run(_run())


@app.command("providers")
def providers() -> None:
    """List the providers: kind, solutions, documents and the registry's credit code."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            pool = PoolService(session)
            rows = await pool.providers()
            documents = await SubjectDocuments(session).of_many("provider", [p.id for p in rows])
            lines = [
                (p, len(await pool.search(SearchQuery(provider_id=p.id))), len(documents[p.id]))
                for p in rows
            ]
        for p, solutions, files in lines:
            console.print(
                f"{p.id:>4} {p.kind:<9} {solutions:>3} solutions {files:>3} documents "
                f"{p.credit_code or '-':<18} {p.name}",
                highlight=False,
            )

    run(_run())


@app.command("guides")
def guides() -> None:
    """List the industry application guides, drafts included."""

    async def _run() -> None:
        async with open_database(load_settings()) as db, db.session() as session:
            rows = await GuideService(session).all(Principal.system())
        for g in rows:
            state = "published" if g.published else "draft"
            console.print(
                f"{g.id:>4} {g.industry_code:<5} {state:<9} {len(g.solution_ids):>3} solutions "
                f"{g.title_zh}",
                highlight=False,
            )

    run(_run())
