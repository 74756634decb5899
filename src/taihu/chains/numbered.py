"""The supply edges as numpy arrays, for the chain analytics at province scale.

Enterprises and inputs are numbered in the sorted order of their keys, so sorting by number is
sorting by key, and the edges keep the graph's order. Every sum below is ``numpy.bincount`` with
weights, which adds in the order of its input: each one adds the same values in the same order
as the plain-Python definitions in ``analytics`` (``sourcing``, ``buyer_sourcing``,
``ring_shares``), so the results are the same to the last bit, not merely close.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from taihu.chains.facts import Ring, Supply, SupplyGraph

__all__ = ["RINGS", "ChainEdges", "EdgeArrays", "Pairs"]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

RINGS = tuple(Ring)
_DISTRICT = RINGS.index(Ring.DISTRICT)


def _sums(groups: Ints, weights: Floats, size: int) -> Floats:
    """Weights added by group, in the order given (a float array, which numpy's stubs miss)."""
    return np.bincount(groups, weights=weights, minlength=size).astype(np.float64, copy=False)


@dataclass(frozen=True, slots=True)
class EdgeArrays:
    """Every edge of a graph as numbers: supplier, buyer, input, value, ring, substitutable."""

    keys: list[str]  # enterprise keys, sorted
    ids: dict[str, int]
    items: list[str]  # input keys, sorted
    item_ids: dict[str, int]
    supplier: Ints
    buyer: Ints
    item: Ints
    value: Floats
    ring: Ints
    substitutable: Bools
    local: Bools  # per enterprise
    by_item: Ints  # edge positions grouped by input, each group in the graph's order
    item_starts: Ints

    @classmethod
    def of(cls, graph: SupplyGraph) -> EdgeArrays:
        """Number the graph's enterprises, inputs and edges."""
        edges: list[Supply] = graph.edges
        keys = sorted({*graph.firms, *(e.supplier for e in edges), *(e.buyer for e in edges)})
        ids = {k: i for i, k in enumerate(keys)}
        items = sorted({e.input for e in edges})
        item_ids = {k: i for i, k in enumerate(items)}
        count = len(edges)
        ring_ids = {r: i for i, r in enumerate(RINGS)}

        def column(values: list[int]) -> Ints:
            return np.fromiter(values, dtype=np.int64, count=count)

        item = column([item_ids[e.input] for e in edges])
        by_item = np.argsort(item, kind="stable")
        starts = np.zeros(len(items) + 1, dtype=np.int64)
        np.cumsum(np.bincount(item, minlength=len(items)), out=starts[1:])
        firms = graph.firms
        return cls(
            keys, ids, items, item_ids,
            supplier=column([ids[e.supplier] for e in edges]),
            buyer=column([ids[e.buyer] for e in edges]),
            item=item,
            value=np.fromiter((e.value for e in edges), dtype=np.float64, count=count),
            ring=column([ring_ids[e.ring] for e in edges]),
            substitutable=np.fromiter((e.substitutable for e in edges), dtype=np.bool_,
                                      count=count),
            local=np.fromiter((k in firms and firms[k].local for k in keys), dtype=np.bool_,
                              count=len(keys)),
            by_item=by_item, item_starts=starts,
        )  # fmt: skip

    def chain(self, segment_keys: frozenset[str]) -> ChainEdges:
        """The edges whose input is one of these segments, in ``chain_edges``' order."""
        chosen = sorted(self.item_ids[k] for k in segment_keys if k in self.item_ids)
        starts = self.item_starts
        parts = [self.by_item[starts[i] : starts[i + 1]] for i in chosen]
        at = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return ChainEdges(self, at)

    def ring_shares(self, by_ring: Floats) -> dict[str, float]:
        """``ring_shares`` from the value bought per ring (the total added ring by ring)."""
        values = by_ring.tolist()
        total = sum(values)
        if total <= 0:
            return {}
        return {ring.value: value / total for ring, value in zip(RINGS, values, strict=True)}


@dataclass(frozen=True, slots=True)
class Pairs:
    """Per (buyer, input) pair, sorted by buyer then input: what ``sourcing`` finds."""

    buyer: Ints
    item: Ints
    suppliers: Ints
    value: Floats
    hhi: Floats
    outside_share: Floats
    substitutable: Bools
    only: Ints  # the one supplier, -1 when there are several


@dataclass(frozen=True, slots=True)
class ChainEdges:
    """A chain's edges as positions into the graph's arrays."""

    graph: EdgeArrays
    at: Ints

    def pairs(self) -> Pairs:
        """Supplier count, value, HHI, out-of-region share per buyer and input."""
        g = self.graph
        firms = len(g.keys)
        supplier, value = g.supplier[self.at], g.value[self.at]
        pair_keys, pair = np.unique(g.buyer[self.at] * len(g.items) + g.item[self.at],
                                    return_inverse=True)  # fmt: skip
        size = len(pair_keys)
        # Per (pair, supplier): the value added edge by edge; then per pair, the suppliers in
        # order of first appearance, as the dict of ``sourcing`` holds them.
        group_keys, first, group = np.unique(pair * firms + supplier, return_index=True,
                                             return_inverse=True)  # fmt: skip
        by_supplier = _sums(group, value, len(group_keys))
        owner = group_keys // firms
        order = np.lexsort((first, owner))
        owner_o, by_supplier_o = owner[order], by_supplier[order]
        total = _sums(owner_o, by_supplier_o, size)
        squares = _sums(
            owner_o, np.where(by_supplier_o > 0, by_supplier_o * by_supplier_o, 0.0), size
        )
        outside = _sums(pair, np.where(g.ring[self.at] != _DISTRICT, value, 0.0), size)
        counts = np.bincount(owner, minlength=size)
        positive = total > 0
        safe = np.where(positive, total, 1.0)
        hhi = np.where(positive, squares / (safe * safe), 0.0)
        share = np.where(positive, outside / safe, 0.0)
        substitutable = np.zeros(size, dtype=np.bool_)
        substitutable[pair[g.substitutable[self.at]]] = True
        only = np.full(size, -1, dtype=np.int64)
        single = counts == 1
        only[owner[single[owner]]] = (group_keys % firms)[single[owner]]
        return Pairs(pair_keys // len(g.items), pair_keys % len(g.items), counts, total, hhi,
                     share, substitutable, only)  # fmt: skip

    def segment_values(self) -> tuple[Floats, Floats]:
        """Per input: the value bought (edge by edge), and per input and ring (items x rings)."""
        g = self.graph
        item, value = g.item[self.at], g.value[self.at]
        total = _sums(item, value, len(g.items))
        rings = _sums(item * len(RINGS) + g.ring[self.at], value, len(g.items) * len(RINGS))
        return total, rings.reshape(len(g.items), len(RINGS))

    def rings(self) -> Floats:
        """The value bought per ring over the chain's edges."""
        return _sums(self.graph.ring[self.at], self.graph.value[self.at], len(RINGS))

    def arcs(self) -> tuple[list[str], Ints, Ints]:
        """The supplier → buyer arcs numbered as ``Digraph.of`` does, as CSR arrays."""
        # Nodes in order of first appearance, distinct arcs without loops, each node's
        # out-neighbours in order of appearance.
        g = self.graph
        supplier, buyer = g.supplier[self.at], g.buyer[self.at]
        both = np.column_stack((supplier, buyer)).ravel()
        found, first = np.unique(both, return_index=True)
        nodes = found[np.argsort(first, kind="stable")]
        local = np.empty(len(g.keys), dtype=np.int64)
        local[nodes] = np.arange(len(nodes), dtype=np.int64)
        a, b = local[supplier], local[buyer]
        _, once = np.unique(a * len(nodes) + b, return_index=True)
        once = np.sort(once)
        once = once[a[once] != b[once]]
        order = np.argsort(a[once], kind="stable")
        heads, targets = a[once][order], b[once][order]
        starts = np.zeros(len(nodes) + 1, dtype=np.int64)
        np.cumsum(np.bincount(heads, minlength=len(nodes)), out=starts[1:])
        names = g.keys
        return [names[i] for i in nodes.tolist()], starts, targets

    def extensions(self, members: Ints, inside: Bools) -> list[tuple[str, float, float, int]]:
        """Per input outside ``inside`` bought by ``members``: value, outside value, buyers."""
        g = self.graph
        chosen = np.zeros(len(g.keys), dtype=np.bool_)
        chosen[members] = True
        at = np.flatnonzero(chosen[g.buyer] & ~inside[g.item])
        item, value = g.item[at], g.value[at]
        size = len(g.items)
        total = _sums(item, value, size)
        outside = _sums(item, np.where(g.ring[at] != _DISTRICT, value, 0.0), size)
        distinct = np.unique(item * len(g.keys) + g.buyer[at]) // len(g.keys)
        buyers = np.bincount(distinct, minlength=size)
        used = np.flatnonzero(np.bincount(item, minlength=size))
        return [
            (g.items[i], float(total[i]), float(outside[i]), int(buyers[i])) for i in used.tolist()
        ]
