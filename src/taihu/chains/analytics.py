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
    levels                = HHI >= 0.25 high, >= 0.15 moderate (the US merger guidelines' bands);
                            out-of-region share >= 0.7 high, >= 0.5 moderate (``Thresholds``)
"""

from __future__ import annotations

import gc
import heapq
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from taihu.chains.centrality import Digraph, articulation_points, betweenness
from taihu.chains.facts import ChainSpec, Ring, Stage, Supply, SupplyGraph
from taihu.chains.numbered import RINGS, ChainEdges, Pairs
from taihu.core import N_, Message

# Betweenness is exact on chain subgraphs up to this many enterprises; above, it is the
# Brandes-Pich estimate from ``SAMPLED_SOURCES`` evenly spaced sources (docs/industry-map.md).
# The limit is high because the estimate ranks badly on supply graphs: at province scale its
# top 10 shared none of the exact top 10 (measured, docs/benchmarks.md).
EXACT_BETWEENNESS = 20_000
SAMPLED_SOURCES = 128

__all__ = [
    "BuyerSourcing",
    "ChainAnalysis",
    "Extension",
    "SegmentStatus",
    "Sourcing",
    "Suggestion",
    "Thresholds",
    "analyze_chain",
    "buyer_sourcing",
    "chain_edges",
    "collector_paused",
    "hhi",
    "level",
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
    # Colour bands of supplier concentration and out-of-region share (docs/industry-map.md).
    hhi_moderate: float = 0.15
    hhi_high: float = 0.25
    outside_moderate: float = 0.5
    outside_high: float = 0.7


def level(value: float | None, moderate: float, high: float) -> str:
    """The colour band of a value: high, moderate or low (none when undefined)."""
    if value is None:
        return "none"
    if value >= high:
        return "high"
    return "moderate" if value >= moderate else "low"


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
    outside_share: float = 0.0
    only: str | None = None  # the supplier, when there is one


@dataclass(frozen=True, slots=True)
class BuyerSourcing:
    """How one buyer sources the chain's inputs: value, out-of-region share, concentration."""

    buyer: str
    value: float
    outside_share: float
    inputs: int
    max_hhi: float


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
    buyers: int = 0
    hhi: float | None = None  # value-weighted mean over its buyers of this input
    concentrated: int = 0  # buyers whose HHI for this input is high

    @property
    def outside_share(self) -> float | None:
        """Share of the segment's purchases from outside the district."""
        return None if self.local_ratio is None else 1 - self.local_ratio

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
    reason: Message
    weight: float = 0.0


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
    sourcing: list[Sourcing] = field(default_factory=list)
    buyers: list[BuyerSourcing] = field(default_factory=list)
    betweenness: list[tuple[str, float]] = field(default_factory=list)
    articulation_points: list[str] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    limits: Thresholds = field(default_factory=Thresholds)
    betweenness_sources: int | None = None  # sampled sources, None when exact


def hhi(values: Iterable[float]) -> float:
    """Herfindahl-Hirschman index of shares: sum of squared shares (1/n to 1; 0 for nothing)."""
    values = [v for v in values if v > 0]
    total = sum(values)
    if total <= 0:
        return 0.0
    return sum((v / total) ** 2 for v in values)


_RINGS = tuple(Ring)


def ring_shares(edges: Iterable[Supply]) -> dict[str, float]:
    """Share of value bought from each ring (every ring listed; empty when nothing is bought)."""
    by_ring: dict[Ring, float] = dict.fromkeys(_RINGS, 0.0)
    for edge in edges:
        by_ring[edge.ring] += edge.value
    total = sum(by_ring.values())
    if total <= 0:
        return {}
    return {ring.value: value / total for ring, value in by_ring.items()}


def sourcing(edges: Iterable[Supply]) -> list[Sourcing]:
    """Per buyer and input: supplier count, value, HHI, out-of-region share, single source."""
    grouped: dict[tuple[str, str], list[Supply]] = {}
    for edge in edges:
        pair = (edge.buyer, edge.input)
        found = grouped.get(pair)
        if found is None:
            grouped[pair] = [edge]
        else:
            found.append(edge)
    district = Ring.DISTRICT
    out = []
    for pair in sorted(grouped):
        by_supplier: dict[str, float] = {}
        outside = 0.0
        substitutable = False
        for edge in grouped[pair]:
            by_supplier[edge.supplier] = by_supplier.get(edge.supplier, 0.0) + edge.value
            if edge.ring is not district:
                outside += edge.value
            substitutable = substitutable or edge.substitutable
        total = sum(by_supplier.values())
        single = len(by_supplier) == 1
        concentration = outside_share = 0.0
        if total > 0:
            concentration = sum(v * v for v in by_supplier.values() if v > 0) / (total * total)
            outside_share = outside / total
        out.append(
            Sourcing(
                pair[0],
                pair[1],
                len(by_supplier),
                total,
                concentration,
                single,
                substitutable,
                outside_share,
                next(iter(by_supplier)) if single else None,
            )
        )
    return out


def buyer_sourcing(pairs: Iterable[Sourcing]) -> list[BuyerSourcing]:
    """Per buyer over its inputs: value, out-of-region share and the highest HHI."""
    value: dict[str, float] = defaultdict(float)
    outside: dict[str, float] = defaultdict(float)
    inputs: dict[str, int] = defaultdict(int)
    top: dict[str, float] = defaultdict(float)
    for pair in pairs:
        value[pair.buyer] += pair.value
        outside[pair.buyer] += pair.value * pair.outside_share
        inputs[pair.buyer] += 1
        top[pair.buyer] = max(top[pair.buyer], pair.hhi)
    return [
        BuyerSourcing(b, v, outside[b] / v if v > 0 else 0.0, inputs[b], top[b])
        for b, v in sorted(value.items())
    ]


def chain_edges(graph: SupplyGraph, chain: ChainSpec) -> list[Supply]:
    """The edges whose input is one of the chain's segments."""
    return [e for key in sorted(chain.segment_keys) for e in graph.by_input.get(key, ())]


def _chain_pairs(chain: ChainEdges) -> tuple[list[Sourcing], Pairs]:
    """``sourcing`` of the chain's edges, computed over arrays."""
    found = chain.pairs()
    keys, items = chain.graph.keys, chain.graph.items
    only = [keys[i] if i >= 0 else None for i in found.only.tolist()]
    singles = (found.suppliers == 1).tolist()
    out = list(
        map(
            Sourcing,
            [keys[i] for i in found.buyer.tolist()],
            [items[i] for i in found.item.tolist()],
            found.suppliers.tolist(),
            found.value.tolist(),
            found.hhi.tolist(),
            singles,
            found.substitutable.tolist(),
            found.outside_share.tolist(),
            only,
        )
    )
    return out, found


def _chain_buyers(chain: ChainEdges, found: Pairs) -> list[BuyerSourcing]:
    """``buyer_sourcing`` of the chain's pairs, computed over arrays (same sums, same order)."""
    size = len(chain.graph.keys)
    value = np.bincount(found.buyer, weights=found.value, minlength=size)
    outside = np.bincount(found.buyer, weights=found.value * found.outside_share, minlength=size)
    inputs = np.bincount(found.buyer, minlength=size)
    top = np.zeros(size)
    np.maximum.at(top, found.buyer, found.hhi)
    keys = chain.graph.keys
    out = []
    for b in np.flatnonzero(inputs).tolist():
        v = float(value[b])
        share = float(outside[b]) / v if v > 0 else 0.0
        out.append(BuyerSourcing(keys[b], v, share, int(inputs[b]), float(top[b])))
    return out


def _segments(
    graph: SupplyGraph, chain: ChainSpec, edges: ChainEdges, found: Pairs, limits: Thresholds
) -> list[SegmentStatus]:
    numbered = edges.graph
    total, by_ring = edges.segment_values()
    size = len(numbered.items)
    weighted = np.bincount(found.item, weights=found.hhi * found.value, minlength=size)
    buyers = np.bincount(found.item, minlength=size)
    concentrated = np.bincount(found.item[found.hhi >= limits.hhi_high], minlength=size)
    # Chokepoint: buyers whose only supplier of this input is one local enterprise, with no
    # substitute declared; a supplier with at least N such dependants holds the chain's throat.
    held = (found.only >= 0) & ~found.substitutable
    held &= numbered.local[np.where(held, found.only, 0)]
    firms = len(numbered.keys)
    pairs, counts = np.unique(found.item[held] * firms + found.only[held], return_counts=True)
    chokepoints: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for key, n in zip(pairs.tolist(), counts.tolist(), strict=True):
        if n >= limits.chokepoint_dependants:
            chokepoints[key // firms].append((numbered.keys[key % firms], n))
    out = []
    for spec in chain.segments:
        members = graph.members(spec.key)
        i = numbered.item_ids.get(spec.key)
        bought = 0.0 if i is None else float(total[i])
        rings = {} if i is None else numbered.ring_shares(by_ring[i])
        local = 0.0 if i is None else float(by_ring[i][RINGS.index(Ring.DISTRICT)])
        ratio = local / bought if bought > 0 else None
        out.append(
            SegmentStatus(
                key=spec.key, name=spec.name, stage=spec.stage, critical=spec.critical,
                local_count=len(members), members=members, purchased_value=bought,
                local_ratio=ratio, rings=rings, missing=not members,
                weak=bool(members) and ratio is not None and ratio < limits.weak_ratio,
                chokepoints=[] if i is None else sorted(chokepoints[i],
                                                        key=lambda kn: (-kn[1], kn[0])),
                buyers=0 if i is None else int(buyers[i]),
                hhi=float(weighted[i]) / bought if i is not None and bought > 0 else None,
                concentrated=0 if i is None else int(concentrated[i]),
            )
        )  # fmt: skip
    return out


def _extensions(
    graph: SupplyGraph, chain: ChainSpec, edges: ChainEdges, limits: Thresholds
) -> list[Extension]:
    # Inputs bought by the chain's own enterprises that the template has no segment for: the
    # chain could be extended (延链) up to where those inputs come from.
    numbered = edges.graph
    ids = numbered.ids
    members = np.fromiter(
        {ids[k] for s in chain.segments for k in graph.members(s.key)}, dtype=np.int64
    )
    inside = np.zeros(len(numbered.items), dtype=np.bool_)
    for key in chain.segment_keys:
        if key in numbered.item_ids:
            inside[numbered.item_ids[key]] = True
    extensions = [Extension(*found) for found in edges.extensions(members, inside)]
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
            reason = Message(N_("no local enterprise in {segment}"), segment=seg.name)
            out.append(Suggestion(kind, seg.key, reason, seg.purchased_value))
    for seg in analysis.segments:
        if seg.weak and seg.local_ratio is not None:
            reason = Message(
                N_("local supply ratio {ratio:.0%} in {segment}"),
                ratio=seg.local_ratio,
                segment=seg.name,
            )
            out.append(
                Suggestion("强链", seg.key, reason, seg.purchased_value * (1 - seg.local_ratio))
            )
        for firm, dependants in seg.chokepoints:
            reason = Message(
                N_("{supplier} is the only supplier of {segment} to {buyers} buyers: "
                   "qualify a second source"),
                supplier=graph.firms[firm].name if firm in graph.firms else firm,
                segment=seg.name,
                buyers=dependants,
            )  # fmt: skip
            out.append(Suggestion("强链", seg.key, reason, float(dependants)))
    singles = [s for s in analysis.single_source if not s.substitutable]
    if singles:
        value = sum(s.value for s in singles)
        reason = Message(N_("{pairs} buyer-input pairs rely on one supplier"), pairs=len(singles))
        out.append(Suggestion("强链", "single-source", reason, value))
    for ext in analysis.extensions:
        reason = Message(
            N_("{buyers} buyers bring {input} in from outside the district"),
            buyers=ext.buyers,
            input=ext.input,
        )
        out.append(Suggestion("延链", ext.input, reason, ext.outside_value))
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
    with collector_paused():
        return _analyze(graph, chain, limits or Thresholds(), centrality, samples)


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection inside (reference counting still frees everything)."""
    # The analysis allocates some 100,000 acyclic objects per chain; each full collection they
    # trigger walks the whole graph (500,000 edges at province scale), which cost about 0.4 s of
    # 1.5 s for the six chains (measured, docs/benchmarks.md). Nothing here builds a cycle.
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _analyze(
    graph: SupplyGraph,
    chain: ChainSpec,
    limits: Thresholds,
    centrality: bool,
    samples: int | None,
) -> ChainAnalysis:
    edges = graph.arrays().chain(chain.segment_keys)
    pairs, found = _chain_pairs(edges)
    segments = _segments(graph, chain, edges, found, limits)
    present = sum(1 for s in segments if not s.missing)
    top: list[tuple[str, float]] = []
    cut: list[str] = []
    sampled = None
    if centrality and len(edges.at):
        arcs = Digraph(*edges.arcs())
        nodes = len(arcs.nodes)
        if samples is None and nodes > EXACT_BETWEENNESS:
            samples = SAMPLED_SOURCES
        sampled = samples if samples is not None and 0 < samples < nodes else None
        scores = betweenness(arcs, samples=samples)
        # The first few of a sort, without sorting every node (same order, ties by key).
        top = heapq.nsmallest(limits.centrality_top,
                              ((k, v) for k, v in scores.items() if v > 0),
                              key=lambda kv: (-kv[1], kv[0]))  # fmt: skip
        cut = sorted(articulation_points(arcs))
    analysis = ChainAnalysis(
        chain=chain.key,
        name=chain.name,
        completeness=present / len(segments) if segments else 0.0,
        segments=segments,
        rings=edges.graph.ring_shares(edges.rings()),
        single_source=[s for s in pairs if s.single_source],
        extensions=_extensions(graph, chain, edges, limits),
        sourcing=pairs,
        buyers=_chain_buyers(edges, found),
        betweenness=top,
        articulation_points=cut,
        limits=limits,
        betweenness_sources=sampled,
    )
    analysis.suggestions = _suggest(analysis, graph)
    return analysis
