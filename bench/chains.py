"""Industry-map analytics on a province-sized generated graph: 50,000 enterprises, 500,000 edges.

Targets (issue 17): full analysis of all chains <= 2 s; one disruption query (unblock list
included) <= 50 ms. The district comes from the demo's generator at a hundred times the scale
(deterministic seed), so it has the same shape: missing links, a chokepoint, weak links,
single-source inputs. Timings are the median of five runs after one warm-up, wall clock and
the process's CPU time (this box is shared: the load average is recorded with them); building
the graph and its indexes from plain data is reported apart.

The chains are the district's current templates, read from the template store of a database
(``--database``, by default a fresh SQLite file in a temporary folder, migrated; the six
built-ins are its starting set); ``--template FILE`` imports a template file into it first, as
``taihu chain template import`` would, so a district-made chain is planned and analysed too.

    .venv/bin/python bench/chains.py                       # 50,000 / ~500,000, writes results
    .venv/bin/python bench/chains.py --enterprises 5100 --edges-per-firm 11 --no-write
    .venv/bin/python bench/chains.py --template examples/chains/fibre-district.json --no-write
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from taihu.accounts import Principal
from taihu.chains import ChainSpec, TemplateStore, analyze_chain, import_templates, simulate
from taihu.core import Database, SystemClock, upgrade
from taihu.demo import plan_district

RESULTS = Path(__file__).resolve().parent / "results" / "chains.json"
RUNS = 5


def _median(work: Callable[[], object]) -> tuple[float, float]:
    """Median wall-clock and CPU seconds of RUNS runs after one warm-up."""
    work()  # warm-up
    wall, cpu = [], []
    for _ in range(RUNS):
        start, used = time.perf_counter(), time.process_time()
        work()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - used)
    return statistics.median(wall), statistics.median(cpu)


async def _templates(url: str, files: list[Path]) -> tuple[ChainSpec, ...]:
    """The current templates of the database's store, after importing ``files``."""
    db = Database(url)
    try:
        await upgrade(db)
        async with db.session() as session:
            for path in files:
                done = await import_templates(session, SystemClock(), Principal.system("bench"),
                                              path.name, path.read_bytes())  # fmt: skip
                if not done.report.applied:
                    raise SystemExit(f"{path}: {done.report.problems[:3]}")
        async with db.session() as session:
            return await TemplateStore(session).current()
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=51000)
    parser.add_argument("--edges-per-firm", type=float, default=10.6)
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--database", help="database whose templates to use (default: a fresh "
                        "SQLite file)")  # fmt: skip
    parser.add_argument("--template", type=Path, action="append", default=[],
                        help="a template file to import first (repeatable)")  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite+aiosqlite:///{Path(folder) / 'templates.sqlite3'}"
        chains = asyncio.run(_templates(url, args.template))
    start = time.perf_counter()
    plan = plan_district((), chains, enterprises=args.enterprises,
                         edges_per_firm=args.edges_per_firm, seed=7)  # fmt: skip
    generated = time.perf_counter() - start
    start = time.perf_counter()
    graph = plan.graph()
    # The indexes the queries use, built once per graph (as the service builds one per request).
    if hasattr(graph, "what_if"):
        graph.what_if()
    if hasattr(graph, "arrays"):
        graph.arrays()
    graph.members("")
    built = time.perf_counter() - start

    def analyse_all() -> None:
        for chain in chains:
            analyze_chain(graph, chain)

    preform = next(f for f in plan.firms if f.segment == "fibre.preform")
    # The chokepoint and four other local suppliers with the most buyers go down together.
    busiest = sorted(
        (f for f in plan.firms if f.code != preform.code),
        key=lambda f: -len(graph.by_supplier.get(f.code, ())),
    )[:4]
    down = [preform.code, *(f.code for f in busiest)]
    outcome = simulate(graph, down)
    analysis_s, analysis_cpu_s = _median(analyse_all)
    query_s, query_cpu_s = _median(lambda: simulate(graph, down))
    figures = {
        "enterprises": len(plan.firms),
        "edges": len(plan.edges),
        "chains": len(chains),
        "chain_keys": [c.key for c in chains],
        "generate_s": round(generated, 3),
        "build_graph_s": round(built, 3),
        "analyse_all_chains_s": round(analysis_s, 3),
        "analyse_all_chains_cpu_s": round(analysis_cpu_s, 3),
        "analyse_all_chains_target_s": 2.0,
        "disruption_query_ms": round(query_s * 1000, 1),
        "disruption_query_cpu_ms": round(query_cpu_s * 1000, 1),
        "disruption_query_target_ms": 50.0,
        "disruption_down": len(down),
        "disruption_fallen": len(outcome.fallen),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "load_average_1min": round(os.getloadavg()[0], 1),
    }
    for key, value in figures.items():
        print(f"{key:>30}: {value}")
    if args.no_write:
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
