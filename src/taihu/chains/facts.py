"""The plain data the analytics work on: chains, segments, enterprises and supply edges.

No ORM here. The service reads the database into these frozen values; the monitor (and the
benchmark) can build them from anything. Enterprises are keyed by a string (the credit code of a
registered enterprise, ``ext:<name>`` for a supplier outside the registry).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from taihu.chains.numbered import EdgeArrays

__all__ = [
    "ChainSpec",
    "Firm",
    "FlowArrays",
    "Ring",
    "SegmentSpec",
    "Source",
    "Stage",
    "Supply",
    "SupplyGraph",
    "WhatIf",
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


@dataclass(frozen=True, slots=True)
class Source:
    """How a buyer sources one input: its distinct suppliers, and whether one may substitute."""

    suppliers: frozenset[str]
    substitutable: bool


@dataclass(frozen=True, slots=True)
class FlowArrays:
    """``WhatIf``'s outlets (CSR), pair buyers, protection and supplier counts as arrays."""

    starts: npt.NDArray[np.int64]
    outlets: npt.NDArray[np.int64]
    buyer: npt.NDArray[np.int64]
    protected: npt.NDArray[np.bool_]
    counts: npt.NDArray[np.int64]

    @classmethod
    def of(
        cls, outlets: list[list[int]], buyer: list[int], protected: list[bool], counts: list[int]
    ) -> FlowArrays:
        """The lists as arrays."""
        starts = np.zeros(len(outlets) + 1, dtype=np.int64)
        np.cumsum([len(o) for o in outlets], out=starts[1:])
        flat = np.fromiter(chain.from_iterable(outlets), dtype=np.int64, count=int(starts[-1]))
        return cls(
            starts,
            flat,
            np.array(buyer, dtype=np.int64),
            np.array(protected, dtype=np.bool_),
            np.array(counts, dtype=np.int64),
        )


@dataclass(slots=True)
class WhatIf:
    """Enterprises and (buyer, input) pairs numbered, for the what-if propagation's inner loop.

    ``outlets[f]`` are the pairs enterprise f supplies; pair p is bought by ``buyer[p]`` from
    ``suppliers[p]`` (distinct) and ``protected[p]`` when one of its edges is substitutable.
    """

    keys: list[str]
    ids: dict[str, int]
    outlets: list[list[int]]
    buyer: list[int]
    item: list[str]
    suppliers: list[tuple[int, ...]]
    protected: list[bool]
    value: list[float]  # each enterprise's annual supply
    counts: list[int]  # per pair, its number of distinct suppliers (copied by each query)
    arrays: FlowArrays  # the same as numpy arrays, for the propagation
    # Per pair, its suppliers' keys sorted, filled as queries need them and kept for the next.
    because: dict[int, tuple[str, ...]] = field(default_factory=dict)

    def named(self, pair: int) -> tuple[str, ...]:
        """The keys of a pair's suppliers, sorted."""
        found = self.because.get(pair)
        if found is None:
            keys = self.keys
            found = self.because[pair] = tuple(sorted(keys[s] for s in self.suppliers[pair]))
        return found

    @classmethod
    def of(cls, edges: list[Supply]) -> WhatIf:
        """Number the enterprises and pairs of these edges."""
        ids: dict[str, int] = {}
        keys: list[str] = []
        pairs: dict[tuple[int, str], int] = {}
        buyer: list[int] = []
        item: list[str] = []
        suppliers: list[dict[int, None]] = []
        protected: list[bool] = []
        value: list[float] = []
        for edge in edges:
            for key in (edge.supplier, edge.buyer):
                if key not in ids:
                    ids[key] = len(keys)
                    keys.append(key)
                    value.append(0.0)
            s, b = ids[edge.supplier], ids[edge.buyer]
            value[s] += edge.value
            p = pairs.setdefault((b, edge.input), len(buyer))
            if p == len(buyer):
                buyer.append(b)
                item.append(edge.input)
                suppliers.append({})
                protected.append(False)
            suppliers[p][s] = None
            protected[p] = protected[p] or edge.substitutable
        outlets: list[list[int]] = [[] for _ in keys]
        for p, found in enumerate(suppliers):
            for s in found:
                outlets[s].append(p)
        counts = [len(f) for f in suppliers]
        return cls(keys, ids, outlets, buyer, item, [tuple(f) for f in suppliers], protected,
                   value, counts, FlowArrays.of(outlets, buyer, protected, counts))  # fmt: skip


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
    _what_if: WhatIf | None = None
    _out_value: dict[str, float] | None = None
    _members: dict[str, list[str]] | None = None
    _arrays: EdgeArrays | None = None

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
        if self._members is None:
            # Built on first use; firms added after that (names of outside suppliers) are never
            # local, so they cannot change it.
            found: dict[str, list[str]] = defaultdict(list)
            for key, firm in self.firms.items():
                if firm.local:
                    for tagged in firm.segments:
                        found[tagged].append(key)
            self._members = {k: sorted(v) for k, v in found.items()}
        return list(self._members.get(segment, ()))

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

    def what_if(self) -> WhatIf:
        """The graph as integers for the what-if queries (built once)."""
        if self._what_if is None:
            self._what_if = WhatIf.of(self.edges)
        return self._what_if

    def arrays(self) -> EdgeArrays:
        """The edges as numpy arrays for the chain analytics (built once)."""
        if self._arrays is None:
            from taihu.chains.numbered import EdgeArrays  # noqa: PLC0415 - it imports this module

            self._arrays = EdgeArrays.of(self)
        return self._arrays
