"""The plain data the analytics work on: chains, segments, enterprises and supply edges.

No ORM here. The service reads the database into these frozen values; the monitor (and the
benchmark) can build them from anything. Enterprises are keyed by a string (the credit code of a
registered enterprise, ``ext:<name>`` for a supplier outside the registry).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["ChainSpec", "Firm", "Ring", "SegmentSpec", "Stage", "Supply", "SupplyGraph"]


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
    name_en: str = ""
    supplies: tuple[str, ...] = ()  # keys of the segments this one feeds


@dataclass(frozen=True, slots=True)
class ChainSpec:
    """A chain template with its segments in order, upstream first."""

    key: str
    name: str
    segments: tuple[SegmentSpec, ...]
    name_en: str = ""
    version: int = 1  # the template version this spec was read from

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


@dataclass(slots=True)
class SupplyGraph:
    """Enterprises and supply edges, with the indexes every analysis needs."""

    firms: dict[str, Firm]
    edges: list[Supply]
    by_buyer: dict[str, list[Supply]] = field(default_factory=lambda: defaultdict(list))
    by_supplier: dict[str, list[Supply]] = field(default_factory=lambda: defaultdict(list))
    by_input: dict[str, list[Supply]] = field(default_factory=lambda: defaultdict(list))

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
        return sum(e.value for e in self.by_supplier.get(key, ()))
