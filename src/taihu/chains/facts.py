"""The plain data the analytics work on: chains, segments, enterprises and supply edges.

No ORM here. The service reads the database into these frozen values; the monitor (and the
benchmark) can build them from anything. Enterprises are keyed by a string (the credit code of a
registered enterprise, ``ext:<name>`` for a supplier outside the registry).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "ChainSpec",
    "Firm",
    "Ring",
    "SegmentSpec",
    "Source",
    "Stage",
    "Supply",
    "SupplyGraph",
]


class Stage(StrEnum):
    """Where a segment sits in its chain."""

    UPSTREAM = "upstream"
    MIDSTREAM = "midstream"
    DOWNSTREAM = "downstream"


class Ring(StrEnum):
    """How far a supplier is from the district, innermost first."""

    DISTRICT = "district"
    CITY = "city"
    PROVINCE = "province"
    CHINA = "china"
    ABROAD = "abroad"


@dataclass(frozen=True, slots=True)
class SegmentSpec:
    """A link of a chain: what it makes and how to recognise its enterprises."""

    key: str
    name: str
    stage: Stage
    codes: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    critical: bool = False


@dataclass(frozen=True, slots=True)
class ChainSpec:
    """A chain template with its segments in order, upstream first."""

    key: str
    name: str
    segments: tuple[SegmentSpec, ...]

    @property
    def segment_keys(self) -> frozenset[str]:
        """The keys of the chain's segments."""
        return frozenset(s.key for s in self.segments)


@dataclass(frozen=True, slots=True)
class Firm:
    """An enterprise as the analytics see it."""

    key: str
    name: str
    local: bool = True
    segments: frozenset[str] = frozenset()  # confirmed segment keys


@dataclass(frozen=True, slots=True)
class Supply:
    """Supplier → buyer of one input category, with its annual value (10k yuan)."""

    supplier: str
    buyer: str
    input: str
    value: float
    ring: Ring = Ring.DISTRICT
    substitutable: bool = False


@dataclass(frozen=True, slots=True)
class Source:
    """How a buyer sources one input: its distinct suppliers, and whether one may substitute."""

    suppliers: frozenset[str]
    substitutable: bool


@dataclass(slots=True)
class SupplyGraph:
    """Enterprises and supply edges, with the indexes every analysis needs."""

    firms: dict[str, Firm]
    edges: list[Supply]
    by_buyer: dict[str, list[Supply]] = field(default_factory=lambda: defaultdict(list))
    by_supplier: dict[str, list[Supply]] = field(default_factory=lambda: defaultdict(list))
    by_input: dict[str, list[Supply]] = field(default_factory=lambda: defaultdict(list))
    # Derived indexes for the what-if queries, built on first use (the edges never change once
    # the graph is built): a buyer's sources per input, a supplier's distinct (buyer, input)
    # pairs, and each enterprise's annual supply.
    _sources: dict[str, dict[str, Source]] | None = None
    _outlets: dict[str, list[tuple[str, str]]] | None = None
    _out_value: dict[str, float] | None = None

    @classmethod
    def build(cls, firms: list[Firm], edges: list[Supply]) -> SupplyGraph:
        """Index the edges; suppliers missing from ``firms`` are added as outside the district."""
        graph = cls({f.key: f for f in firms}, list(edges))
        for edge in graph.edges:
            if edge.supplier not in graph.firms:
                graph.firms[edge.supplier] = Firm(edge.supplier, edge.supplier, local=False)
            graph.by_buyer[edge.buyer].append(edge)
            graph.by_supplier[edge.supplier].append(edge)
            graph.by_input[edge.input].append(edge)
        return graph

    def members(self, segment: str) -> list[str]:
        """The local enterprises confirmed in a segment, by key."""
        return sorted(k for k, f in self.firms.items() if f.local and segment in f.segments)

    def out_value(self, key: str) -> float:
        """What an enterprise supplies in a year, to every buyer."""
        if self._out_value is None:
            values: dict[str, float] = defaultdict(float)
            for edge in self.edges:
                values[edge.supplier] += edge.value
            self._out_value = dict(values)
        return self._out_value.get(key, 0.0)

    def sources(self, buyer: str) -> dict[str, Source]:
        """A buyer's inputs, each with its distinct suppliers and whether any may substitute."""
        if self._sources is None:
            suppliers: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
            protected: set[tuple[str, str]] = set()
            for edge in self.edges:
                suppliers[edge.buyer][edge.input].add(edge.supplier)
                if edge.substitutable:
                    protected.add((edge.buyer, edge.input))
            self._sources = {
                b: {i: Source(frozenset(s), (b, i) in protected) for i, s in inputs.items()}
                for b, inputs in suppliers.items()
            }
        return self._sources.get(buyer, {})

    def outlets(self, supplier: str) -> list[tuple[str, str]]:
        """The distinct (buyer, input) pairs an enterprise supplies."""
        if self._outlets is None:
            pairs: dict[str, dict[tuple[str, str], None]] = defaultdict(dict)
            for edge in self.edges:
                pairs[edge.supplier][edge.buyer, edge.input] = None
            self._outlets = {k: list(v) for k, v in pairs.items()}
        return self._outlets.get(supplier, [])
