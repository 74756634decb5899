"""Gap and risk analytics of a chain, as pure functions over a ``SupplyGraph``.

Each formula is written out, with a worked example, in docs/industry-map.md:

    completeness          = segments with >= 1 local enterprise / segments
    local supply ratio    = district-ring value of a segment's purchases / all its purchases
    missing link  缺链    = segment with no local enterprise
    weak link     短板    = local enterprises exist but local supply ratio < threshold
    chokepoint    卡点    = one local supplier that is the only, non-substitutable supplier of the
                            segment's input to >= N buyers
    single-source         = a buyer's input bought from exactly one supplier
    HHI                   = sum over suppliers of (supplier's value share)^2 per buyer and input
    ring shares           = value by supplier ring / total value; out-of-region = 1 - district
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from taihu.chains.centrality import articulation_points, betweenness
from taihu.chains.facts import ChainSpec, Ring, SegmentSpec, Stage, Supply, SupplyGraph
from taihu.core import N_, Message

__all__ = [
    "ChainAnalysis",
    "Extension",
    "SegmentStatus",
    "Sourcing",
    "Suggestion",
    "Thresholds",
    "analyze_chain",
    "chain_edges",
    "hhi",
    "ring_shares",
    "sourcing",
]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The analyst's settings for calling a segment weak or a supplier a chokepoint."""

    weak_ratio: float = 0.3
    chokepoint_dependants: int = 5
    extension_min_value: float = 0.0
    centrality_top: int = 10


@dataclass(frozen=True, slots=True)
class Sourcing:
    """How one buyer sources one input."""

    buyer: str
    input: str
    suppliers: int
    value: float
    hhi: float
    single_source: bool
    substitutable: bool


@dataclass(slots=True)
class SegmentStatus:
    """One segment's local base and gaps."""

    key: str
    name: str
    stage: Stage
    critical: bool
    local_count: int
    members: list[str]
    purchased_value: float
    local_ratio: float | None
    rings: dict[str, float]
    missing: bool
    weak: bool
    chokepoints: list[tuple[str, int]]

    @property
    def status(self) -> str:
        """The gravest finding: missing, chokepoint, weak or ok."""
        if self.missing:
            return "missing"
        if self.chokepoints:
            return "chokepoint"
        return "weak" if self.weak else "ok"


@dataclass(frozen=True, slots=True)
class Extension:
    """An input the chain's enterprises buy that no segment of the template covers."""

    input: str
    value: float
    outside_value: float
    buyers: int


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A policy suggestion: 建链 build, 补链 fill, 强链 strengthen, 延链 extend."""

    kind: str
    target: str
    reason: str
    weight: float = 0.0
    # The reason as a message id and its values, for the console to show in the reader's
    # language; ``reason`` is its English text (stored and served by the API as it was).
    message: Message | None = None


@dataclass(slots=True)
class ChainAnalysis:
    """Everything the analytics find about one chain."""

    chain: str
    name: str
    completeness: float
    segments: list[SegmentStatus]
    rings: dict[str, float]
    single_source: list[Sourcing]
    extensions: list[Extension]
    betweenness: list[tuple[str, float]]
    articulation_points: list[str]
    suggestions: list[Suggestion] = field(default_factory=list)


def hhi(values: Iterable[float]) -> float:
    """Herfindahl-Hirschman index of shares: sum of squared shares (1/n to 1; 0 for nothing)."""
    values = [v for v in values if v > 0]
    total = sum(values)
    if total <= 0:
        return 0.0
    return sum((v / total) ** 2 for v in values)


def ring_shares(edges: Iterable[Supply]) -> dict[str, float]:
    """Share of value bought from each ring (every ring listed; empty when nothing is bought)."""
    by_ring: dict[str, float] = dict.fromkeys((r.value for r in Ring), 0.0)
    for edge in edges:
        by_ring[edge.ring.value] += edge.value
    total = sum(by_ring.values())
    if total <= 0:
        return {}
    return {ring: value / total for ring, value in by_ring.items()}


def sourcing(edges: Iterable[Supply]) -> list[Sourcing]:
    """Per buyer and input: supplier count, value, HHI and the single-source flag."""
    grouped: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    substitutable: dict[tuple[str, str], bool] = defaultdict(bool)
    for edge in edges:
        grouped[edge.buyer, edge.input][edge.supplier] += edge.value
        substitutable[edge.buyer, edge.input] |= edge.substitutable
    return [
        Sourcing(
            buyer,
            item,
            len(by_supplier),
            sum(by_supplier.values()),
            hhi(by_supplier.values()),
            len(by_supplier) == 1,
            substitutable[buyer, item],
        )
        for (buyer, item), by_supplier in sorted(grouped.items())
    ]


def chain_edges(graph: SupplyGraph, chain: ChainSpec) -> list[Supply]:
    """The edges whose input is one of the chain's segments."""
    return [e for key in sorted(chain.segment_keys) for e in graph.by_input.get(key, ())]


def _segment(graph: SupplyGraph, spec: SegmentSpec, limits: Thresholds) -> SegmentStatus:
    members = graph.members(spec.key)
    edges = graph.by_input.get(spec.key, [])
    total = sum(e.value for e in edges)
    local = sum(e.value for e in edges if e.ring is Ring.DISTRICT)
    ratio = local / total if total > 0 else None
    # Chokepoint: buyers whose only supplier of this input is one local enterprise, with no
    # substitute declared; a supplier with at least N such dependants holds the chain's throat.
    suppliers_of: dict[str, set[str]] = defaultdict(set)
    substitutable: dict[str, bool] = defaultdict(bool)
    for edge in edges:
        suppliers_of[edge.buyer].add(edge.supplier)
        substitutable[edge.buyer] |= edge.substitutable
    dependants: dict[str, int] = defaultdict(int)
    for buyer, suppliers in suppliers_of.items():
        if len(suppliers) == 1 and not substitutable[buyer]:
            (only,) = suppliers
            firm = graph.firms.get(only)
            if firm is not None and firm.local:
                dependants[only] += 1
    chokepoints = sorted(
        ((k, n) for k, n in dependants.items() if n >= limits.chokepoint_dependants),
        key=lambda kn: (-kn[1], kn[0]),
    )
    return SegmentStatus(
        key=spec.key, name=spec.name, stage=spec.stage, critical=spec.critical,
        local_count=len(members), members=members, purchased_value=total, local_ratio=ratio,
        rings=ring_shares(edges), missing=not members,
        weak=bool(members) and ratio is not None and ratio < limits.weak_ratio,
        chokepoints=chokepoints,
    )  # fmt: skip


def _extensions(graph: SupplyGraph, chain: ChainSpec, limits: Thresholds) -> list[Extension]:
    # Inputs bought by the chain's own enterprises that the template has no segment for: the
    # chain could be extended (延链) up to where those inputs come from.
    members = {k for k, f in graph.firms.items() if f.local and f.segments & chain.segment_keys}
    found: dict[str, list[Supply]] = defaultdict(list)
    for buyer in members:
        for edge in graph.by_buyer.get(buyer, ()):
            if edge.input not in chain.segment_keys:
                found[edge.input].append(edge)
    extensions = [
        Extension(
            item,
            sum(e.value for e in edges),
            sum(e.value for e in edges if e.ring is not Ring.DISTRICT),
            len({e.buyer for e in edges}),
        )
        for item, edges in found.items()
    ]
    return sorted(
        (x for x in extensions if x.outside_value > limits.extension_min_value),
        key=lambda x: (-x.outside_value, x.input),
    )


def _suggest(analysis: ChainAnalysis, graph: SupplyGraph) -> list[Suggestion]:
    out: list[Suggestion] = []
    # With less than half the chain present locally there is no chain to fill: build one.
    kind = "建链" if analysis.completeness < 0.5 else "补链"
    for seg in analysis.segments:
        if seg.missing:
            said = Message(N_("no local enterprise in {segment}"), segment=seg.name)
            out.append(Suggestion(kind, seg.key, str(said), seg.purchased_value, said))
    for seg in analysis.segments:
        if seg.weak and seg.local_ratio is not None:
            said = Message(N_("local supply ratio {ratio} in {segment}"),
                           ratio=f"{seg.local_ratio:.0%}", segment=seg.name)  # fmt: skip
            out.append(Suggestion("强链", seg.key, str(said),
                                  seg.purchased_value * (1 - seg.local_ratio), said))  # fmt: skip
        for firm, dependants in seg.chokepoints:
            name = graph.firms[firm].name if firm in graph.firms else firm
            said = Message(
                N_("{enterprise} is the only supplier of {segment} to {buyers} buyers: "
                   "qualify a second source"),
                enterprise=name, segment=seg.name, buyers=dependants,
            )  # fmt: skip
            out.append(Suggestion("强链", seg.key, str(said), float(dependants), said))
    singles = [s for s in analysis.single_source if not s.substitutable]
    if singles:
        value = sum(s.value for s in singles)
        said = Message(N_("{pairs} buyer-input pairs rely on one supplier"), pairs=len(singles))
        out.append(Suggestion("强链", "single-source", str(said), value, said))
    for ext in analysis.extensions:
        said = Message(N_("{buyers} buyers bring {input} in from outside the district"),
                       buyers=ext.buyers, input=ext.input)  # fmt: skip
        out.append(Suggestion("延链", ext.input, str(said), ext.outside_value, said))
    return out


def analyze_chain(
    graph: SupplyGraph,
    chain: ChainSpec,
    limits: Thresholds | None = None,
    *,
    centrality: bool = True,
    samples: int | None = None,
) -> ChainAnalysis:
    """Analyse one chain: segment gaps, sourcing, rings, structure and suggestions."""
    limits = limits or Thresholds()
    segments = [_segment(graph, spec, limits) for spec in chain.segments]
    present = sum(1 for s in segments if not s.missing)
    edges = chain_edges(graph, chain)
    top: list[tuple[str, float]] = []
    cut: list[str] = []
    if centrality and edges:
        arcs = [(e.supplier, e.buyer) for e in edges]
        scores = betweenness(arcs, samples=samples)
        top = sorted(((k, v) for k, v in scores.items() if v > 0), key=lambda kv: (-kv[1], kv[0]))
        top = top[: limits.centrality_top]
        cut = sorted(articulation_points(arcs))
    analysis = ChainAnalysis(
        chain=chain.key,
        name=chain.name,
        completeness=present / len(segments) if segments else 0.0,
        segments=segments,
        rings=ring_shares(edges),
        single_source=[s for s in sourcing(edges) if s.single_source],
        extensions=_extensions(graph, chain, limits),
        betweenness=top,
        articulation_points=cut,
    )
    analysis.suggestions = _suggest(analysis, graph)
    return analysis
