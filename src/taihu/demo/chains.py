"""The demo district's industrial map: ~600 fictional enterprises on six chains, ~3,000 edges.

A deterministic plan (``plan_district``) says which enterprises exist, where, in which segment,
and who supplies whom, over the chain templates it is given (the district's current ones, read
from the store by ``seed_demo``: on a fresh database the six built-ins; a template the district
made is planned alike); ``seed_chains`` writes it through the ordinary services. The plan is made
to contain what the analytics should find, so a reviewer can check them against it:

- missing links (缺链): no local enterprise makes high-purity chemicals for fibre, display glass
  substrates or semiconductor equipment; those inputs come from outside the district;
- a chokepoint (卡点): one local preform maker (七都示范光棒科技) is the only, non-substitutable
  preform supplier of every local fibre maker — take it down and fibre, cable and devices fall;
- weak links (短板): elevator control systems and display panels are mostly bought outside;
- single-source inputs, and inputs beyond the templates' ends (延链) bought from afar.

Every name contains 示范 ("demo") and every credit code is synthetic (flagged ``synthetic``).
The same plan at a larger scale feeds ``bench/chains.py``.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.accounts import Principal
from taihu.chains import (
    ChainService,
    ChainSpec,
    EdgeIn,
    Firm,
    Ring,
    Supply,
    SupplyGraph,
    write_edges,
)
from taihu.core import Clock
from taihu.demo.codes import demo_credit_code
from taihu.enterprises import Enterprise, ImportReport, RevenueBand, import_registry, townships

__all__ = ["DistrictPlan", "PlannedFirm", "plan_district", "seed_chains"]

# Segments with no local enterprise, and the one local preform maker.
MISSING = frozenset({"fibre.chemicals", "disp.glass", "ic.equipment"})
CHOKEPOINT_SEGMENT = "fibre.preform"
WEAK = {"lift.control": 0.15, "disp.panel": 0.2}  # share bought locally
# Inputs outside every template, bought by the first segment of each chain (延链 candidates).
RAW_INPUTS = {
    "optical-fibre": ("石英砂", "高纯氦气"),
    "polyester": ("对二甲苯 PX",),
    "elevator": ("稀土永磁体",),
    "display": ("ITO 靶材",),
    "ic": ("电子特气",),
    "components": ("陶瓷粉体",),
}
# The existing demo enterprises (dataset.ENTERPRISE_NAMES) placed by hand: (segment, class).
EXISTING = (
    ("fibre.fibre", "3832"), ("fibre.cable", "3833"), ("poly.weaving", "1751"),
    ("poly.fibre", "2822"), ("poly.weaving", "1751"), ("poly.fibre", "2822"),
    ("poly.dyeing", "1752"), ("lift.complete", "3435"), ("lift.parts", "3399"),
    ("fibre.sheath", "2651"), ("poly.weaving", "1751"), ("lift.parts", "3399"),
    ("comp.passive", "3981"), ("comp.pcb", "3982"), ("disp.materials", "2669"),
    ("ic.packaging", "3973"), ("lift.control", "4011"), ("poly.garments", "1819"),
    (None, "1741"), ("disp.module", "3974"), (None, "3434"), ("fibre.devices", "3921"),
    (None, "3389"), ("lift.machine", "3812"), ("poly.garments", "1771"), (None, "1761"),
    ("comp.materials", "3985"), (None, "3525"), (None, "3831"), (None, "6432"),
)  # fmt: skip
_TOWN_OF = {"太湖": "东太湖生态旅游度假区", "汾湖": "黎里镇", "吴江": "吴江经济技术开发区"}
_STEMS = "恒瑞泰鑫联创宏达华盛隆丰信诚德康永新博裕通辰嘉源"
_EXTERNAL_RINGS = ((Ring.CITY, 0.2), (Ring.PROVINCE, 0.35), (Ring.CHINA, 0.35), (Ring.ABROAD, 0.1))


@dataclass(frozen=True, slots=True)
class PlannedFirm:
    """An enterprise of the plan."""

    index: int
    name: str
    code: str
    township: str
    industry: str
    segment: str | None
    chain: str | None  # the key of the segment's chain
    above_size: bool
    key_enterprise: bool
    chain_leader: bool
    employees: int
    revenue_band: str


@dataclass(slots=True)
class DistrictPlan:
    """Enterprises and supply edges of a generated district."""

    firms: list[PlannedFirm] = field(default_factory=list)
    edges: list[EdgeIn] = field(default_factory=list)
    seen: set[tuple[str, str, str]] = field(default_factory=set)

    def graph(self) -> SupplyGraph:
        """The plan as the analytics see it (every tag confirmed)."""
        firms = [
            Firm(f.code, f.name, segments=frozenset({f.segment} if f.segment else ()))
            for f in self.firms
        ]
        edges = [
            Supply(
                e.supplier_code or "ext:" + (e.supplier_name or ""),
                e.buyer_code,
                e.input_category,
                e.annual_value,
                Ring(e.ring),
                e.substitutable,
            )
            for e in self.edges
        ]
        return SupplyGraph.build(firms, edges)


def _township(name: str, rng: random.Random, towns: list[str]) -> str:
    for prefix, town in _TOWN_OF.items():
        if name.startswith(prefix):
            return town
    for town in towns:
        if name.startswith(town[:2]):
            return town
    return rng.choice(towns)


def _band(employees: int) -> str:
    if employees < 100:
        return RevenueBand.UNDER_20M.value
    if employees < 400:
        return RevenueBand.FROM_20M.value
    if employees < 1500:
        return RevenueBand.FROM_100M.value
    return RevenueBand.FROM_1B.value


def _ring(rng: random.Random) -> Ring:
    roll = rng.random()
    for ring, share in _EXTERNAL_RINGS:
        if roll < share:
            return ring
        roll -= share
    return Ring.ABROAD


def _raw_inputs(chain: ChainSpec) -> tuple[str, ...]:
    # A template of the district's own has no list here: its first segment buys "raw material".
    return RAW_INPUTS.get(chain.key, (f"{chain.name}原料",))


def plan_district(
    existing_names: tuple[str, ...], chains: tuple[ChainSpec, ...], *, enterprises: int = 600,
    edges_per_firm: float = 5.6, seed: int = 20261125,
) -> DistrictPlan:  # fmt: skip
    """A deterministic district over ``chains``: firms (the existing ones first) and edges.

    ``enterprises`` firms in all; an existing enterprise whose hand-placed segment is in none
    of ``chains`` is planned without a segment.
    """
    rng = random.Random(seed)  # noqa: S311 - a reproducible demo, not a secret
    towns = [t.name_zh for t in townships().values()]
    chain_of = {s.key: c.key for c in chains for s in c.segments}
    plan = DistrictPlan()
    used: set[str] = set()

    def add(name: str, segment: str | None, industry: str) -> None:
        used.add(name)
        employees = int(rng.lognormvariate(5.0, 1.0)) + 10
        index = len(plan.firms)
        plan.firms.append(PlannedFirm(
            index, name, demo_credit_code(index), _township(name, rng, towns), industry, segment,
            chain_of.get(segment or ""), above_size=employees >= 100,
            key_enterprise=employees >= 800, chain_leader=False, employees=employees,
            revenue_band=_band(employees),
        ))  # fmt: skip

    for name, (placed, industry) in zip(existing_names, EXISTING, strict=False):
        add(name, placed if placed in chain_of else None, industry)
    segments = [(c, s) for c in chains for s in c.segments if s.key not in MISSING]
    weights = {"upstream": 2, "midstream": 4, "downstream": 3}
    total_weight = sum(weights[s.stage.value] for _, s in segments)
    for _chain, segment in segments:
        if segment.key == CHOKEPOINT_SEGMENT:
            count = 1
        else:
            count = round((enterprises - len(existing_names)) * weights[segment.stage.value]
                          / total_weight)  # fmt: skip
        for _ in range(count):
            name = "七都示范光棒科技有限公司" if segment.key == CHOKEPOINT_SEGMENT else ""
            while not name or name in used:
                town = rng.choice(towns)[:2]
                stem = "".join(rng.sample(_STEMS, 2))
                name = f"{town}示范{stem}{rng.choice(segment.keywords or (segment.name,))}有限公司"
            add(name, segment.key, rng.choice(segment.codes or ("",)))
    _leaders(plan, chains)
    _edges(plan, chains, rng, edges_per_firm)
    return plan


def _leaders(plan: DistrictPlan, chains: tuple[ChainSpec, ...]) -> None:
    # The largest downstream enterprise of each chain leads it (链主).
    for chain in chains:
        last = chain.segments[-1].key
        members = [f for f in plan.firms if f.segment == last]
        if members:
            leader = max(members, key=lambda f: f.employees)
            plan.firms[leader.index] = PlannedFirm(**{
                **{k: getattr(leader, k) for k in PlannedFirm.__dataclass_fields__},
                "chain_leader": True, "key_enterprise": True, "above_size": True,
            })  # fmt: skip


def _edges(
    plan: DistrictPlan, chains: tuple[ChainSpec, ...], rng: random.Random, per_firm: float
) -> None:
    by_segment: dict[str, list[PlannedFirm]] = {}
    for firm in plan.firms:
        if firm.segment:
            by_segment.setdefault(firm.segment, []).append(firm)
    outsiders = [f"示范外地供应商{i:03d}" for i in range(max(40, len(plan.firms) // 10))]
    extra = max(0.0, per_firm - 3.0)  # the segment input takes about three edges per buyer
    for chain in chains:
        for position, segment in enumerate(chain.segments):
            buyers = by_segment.get(segment.key, [])
            source = chain.segments[position - 1] if position else None
            for buyer in buyers:
                if source is not None:
                    _buy(plan, rng, buyer, source.key, by_segment.get(source.key, []), outsiders)
                else:
                    for item in _raw_inputs(chain):
                        _outside(plan, rng, buyer, item, outsiders, rng.randint(1, 2))
                # Other inputs of the chain bought from further upstream, and raw inputs.
                for _ in range(int(extra) + (rng.random() < extra % 1)):
                    earlier = chain.segments[: max(position - 1, 0)]
                    if earlier and rng.random() < 0.6:
                        upstream = rng.choice(earlier)
                        local = by_segment.get(upstream.key, [])
                        if local and upstream.key not in WEAK:
                            # An auxiliary purchase: another supplier would do.
                            supplier = rng.choice(local).code
                            _edge(
                                plan, rng, supplier, None, buyer, upstream.key, substitutable=True
                            )
                            continue
                    _outside(plan, rng, buyer, rng.choice(_raw_inputs(chain)), outsiders, 1)


def _edge(
    plan: DistrictPlan, rng: random.Random, code: str | None, name: str | None,
    buyer: PlannedFirm, item: str, ring: Ring = Ring.DISTRICT, substitutable: bool = False,
) -> None:  # fmt: skip
    key = (code or name or "", buyer.code, item)
    if key in plan.seen:
        return
    plan.seen.add(key)
    value = round(rng.lognormvariate(5.5, 1.0), 1)
    plan.edges.append(EdgeIn(buyer.code, item, value, ring.value, code, name, substitutable))


def _outside(
    plan: DistrictPlan, rng: random.Random, buyer: PlannedFirm, item: str, outsiders: list[str],
    count: int,
) -> None:  # fmt: skip
    for name in rng.sample(outsiders, count):
        _edge(plan, rng, None, name, buyer, item, _ring(rng), substitutable=rng.random() < 0.5)


def _buy(
    plan: DistrictPlan, rng: random.Random, buyer: PlannedFirm, item: str,
    local: list[PlannedFirm], outsiders: list[str],
) -> None:  # fmt: skip
    if item == CHOKEPOINT_SEGMENT:
        _edge(plan, rng, local[0].code, None, buyer, item)  # the only preform maker, no substitute
        return
    if item in WEAK:
        # Mostly bought outside: one small local purchase at most, the rest from afar.
        if local and rng.random() < WEAK[item] * 3:
            _edge(plan, rng, rng.choice(local).code, None, buyer, item)
        _outside(plan, rng, buyer, item, outsiders, 2)
        return
    if not local:
        _outside(plan, rng, buyer, item, outsiders, rng.randint(1, 3))
        return
    # One in five buyers relies on a single local supplier; the others spread over 2-4,
    # sometimes with an outside supplier too.
    count = 1 if rng.random() < 0.2 else min(len(local), rng.randint(2, 4))
    substitutable = count > 1 and rng.random() < 0.3
    for supplier in rng.sample(local, count):
        _edge(plan, rng, supplier.code, None, buyer, item, substitutable=substitutable)
    if count > 1 and rng.random() < 0.3:
        _outside(plan, rng, buyer, item, outsiders, 1)


async def seed_chains(
    session: AsyncSession,
    clock: Clock,
    plan: DistrictPlan,
    *,
    progress: Callable[[str], None] | None = None,
) -> ImportReport:
    """Write the plan through the services: registry facts, confirmed tags, supply edges."""
    system = Principal.system("demo")
    # The registry goes in as a bureau would load it: one spreadsheet import, which also
    # updates the demo's first enterprises (same credit codes) with their registry facts.
    sheet = io.StringIO()
    out = csv.writer(sheet)
    out.writerow([
        "credit_code", "name", "township", "industry_code", "above_size", "key_enterprise",
        "chain_leader", "employees", "revenue_band", "synthetic",
    ])  # fmt: skip
    for f in plan.firms:
        out.writerow([
            f.code, f.name, f.township, f.industry, int(f.above_size), int(f.key_enterprise),
            int(f.chain_leader), f.employees, f.revenue_band, 1,
        ])  # fmt: skip
    registered = await import_registry(
        session, clock, system, "demo-registry.csv", sheet.getvalue().encode(),
        progress=(lambda _done, _total: progress("registry")) if progress else None,
    )  # fmt: skip
    if not registered.applied:
        raise RuntimeError(f"the demo plan has invalid enterprises: {registered.problems[:3]}")
    query = sa.select(Enterprise.credit_code, Enterprise.id)
    ids_by_code = dict((await session.execute(query)).all())
    ids = [ids_by_code[f.code] for f in plan.firms]
    chains = ChainService(session, clock)
    pairs = [(ids[f.index], f.segment) for f in plan.firms if f.segment]
    await chains.confirm_tags(system, pairs)
    if progress:
        progress("tags")
    rows = list(enumerate(plan.edges, start=1))
    report = await write_edges(
        session, clock, system, rows, ImportReport(rows=len(rows)),
        progress=(lambda _done, _total: progress("edges")) if progress else None,
    )  # fmt: skip
    if not report.applied:
        raise RuntimeError(f"the demo plan has invalid edges: {report.problems[:3]}")
    return report
