"""Structural criticality of a supply graph: betweenness centrality and articulation points.

Betweenness (Brandes 2001, "A faster algorithm for betweenness centrality"): for every node v,
the sum over ordered pairs (s, t), s != v != t, of the share of shortest s→t paths that pass
through v. Directed and unweighted (a supply edge is one hop), not normalised. Sources with no
path of two arcs add nothing and are skipped. With ``samples`` the sum runs over that many
evenly spaced sources among the others and is scaled by their number / samples (Brandes and
Pich 2007), for graphs too large for the exact sum. The searches run in numpy, a batch of
sources at a time over arrays of (source, node) pairs, so the cost follows the pairs reached
(a few hundred per source on supply graphs, whose paths are short) rather than sources x nodes;
the sums are Brandes' own, in another order, so they agree with it to rounding.

Articulation points: nodes whose removal disconnects the graph with the direction of the edges
ignored (Hopcroft and Tarjan 1973), found with an iterative depth-first search.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["Digraph", "articulation_points", "betweenness"]

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

# At most this many (source, node) pairs per batch of sources in ``betweenness``: some 40 bytes a
# pair, and one level's scan holds the arcs out of its pairs (at most pairs x mean out-degree).
_PAIRS = 1 << 21


class Csr(NamedTuple):
    """Adjacency as arrays: out-degrees, row starts and the concatenated out-neighbours."""

    degree: Ints
    starts: Ints
    targets: Ints


@dataclass(frozen=True, slots=True)
class Digraph:
    """Nodes numbered in order of appearance, with each node's distinct out-neighbours (CSR)."""

    nodes: list[str]
    starts: Ints  # node i's out-neighbours are targets[starts[i]:starts[i + 1]]
    targets: Ints

    @classmethod
    def of(cls, arcs: Iterable[tuple[str, str]]) -> Digraph:
        """Index the arcs once (both functions below accept the result)."""
        names: dict[str, int] = {}
        out: list[list[int]] = []
        for a, b in dict.fromkeys(arcs):
            i = names.get(a)
            if i is None:
                i = names[a] = len(out)
                out.append([])
            j = names.get(b)
            if j is None:
                j = names[b] = len(out)
                out.append([])
            if i != j:
                out[i].append(j)
        degree = np.fromiter((len(a) for a in out), dtype=np.int64, count=len(out))
        starts = np.zeros(len(out) + 1, dtype=np.int64)
        np.cumsum(degree, out=starts[1:])
        targets = np.fromiter(chain.from_iterable(out), dtype=np.int64, count=int(starts[-1]))
        return cls(list(names), starts, targets)

    @property
    def adjacency(self) -> list[list[int]]:
        """Each node's out-neighbours as lists."""
        flat: list[int] = self.targets.tolist()
        bounds: list[int] = self.starts.tolist()
        return [flat[bounds[v] : bounds[v + 1]] for v in range(len(self.nodes))]

    @property
    def csr(self) -> Csr:
        """Out-degrees, row starts and out-neighbours."""
        return Csr(np.diff(self.starts), self.starts, self.targets)


def _index(arcs: Iterable[tuple[str, str]] | Digraph) -> Digraph:
    return arcs if isinstance(arcs, Digraph) else Digraph.of(arcs)


def betweenness(
    arcs: Iterable[tuple[str, str]] | Digraph, *, samples: int | None = None
) -> dict[str, float]:
    """Betweenness centrality of every node of a directed graph given by its arcs."""
    graph = _index(arcs)
    nodes, csr = graph.nodes, graph.csr
    n = len(nodes)
    degree, targets = csr.degree, csr.targets
    # A source with no path of two arcs adds nothing (its buyers have no one further to pass
    # to), so only the others are summed, or sampled.
    two = np.zeros(n, dtype=np.bool_)
    two[np.repeat(np.arange(n), degree)[degree[targets] > 0]] = True
    active = np.flatnonzero(two)
    if samples is not None and 0 < samples < len(active):
        chosen = active[np.arange(samples) * len(active) // samples]
    else:
        chosen = active
    score = np.zeros(n)
    # Sources go in batches of at most _PAIRS / n, so a batch never holds more than _PAIRS
    # (source, node) pairs whatever the graph's shape; the batches share one key table.
    size = max(1, min(len(chosen), _PAIRS // max(n, 1)))
    seen = np.zeros(size * n, dtype=np.bool_)
    slot = np.empty(size * n, dtype=np.int64)
    for first in range(0, len(chosen), size):
        batch = chosen[first : first + size]
        _accumulate(batch, csr, score, seen, slot)
    scale = len(active) / len(chosen) if len(chosen) and len(chosen) < len(active) else 1.0
    return dict(zip(nodes, (score * scale).tolist(), strict=True))


def _accumulate(sources: Ints, graph: Csr, score: Floats, seen: Bools, slot: Ints) -> None:
    """Add the dependencies of every source of the batch to ``score`` (Brandes, level by level).

    The breadth-first searches from all the batch's sources run together over (source, node)
    pairs, keyed source position * n + node. Level d holds the pairs at distance d with their
    shortest-path counts sigma; ``links[d - 1]`` lists, for every arc from a pair at level d - 1 to
    a pair at level d, both positions: exactly the predecessor relation of Brandes' algorithm.
    """
    degree, starts, targets = graph
    n = len(degree)
    owner: Ints = np.arange(len(sources), dtype=np.int64)
    node: Ints = sources
    touched = [owner * n + node]
    seen[touched[0]] = True
    levels: list[tuple[Ints, Floats]] = [(node, np.ones(len(sources)))]
    links: list[tuple[Ints, Ints]] = []
    while True:
        fan = degree[node]
        total = int(fan.sum())
        if total == 0:
            break
        parent = np.repeat(np.arange(len(node), dtype=np.int64), fan)
        # The arcs out of every pair of the level: row start of its node plus a running offset.
        offset = np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(fan) - fan, fan)
        key = owner[parent] * n + targets[starts[node][parent] + offset]
        new = ~seen[key]
        parent, key = parent[new], key[new]
        if len(key) == 0:
            break
        # Distinct keys without sorting: every copy of a key writes its position into the key's
        # slot and one of them survives (which one does not matter); that copy stands for the
        # key. The representatives are then numbered and every copy reads its number.
        position = np.arange(len(key), dtype=np.int64)
        slot[key] = position
        distinct = key[slot[key] == position]
        slot[distinct] = np.arange(len(distinct), dtype=np.int64)
        child = slot[key]
        seen[distinct] = True
        touched.append(distinct)
        paths = _sums(child, levels[-1][1][parent], len(distinct))
        owner, node = distinct // n, distinct % n
        levels.append((node, paths))
        links.append((parent, child))
    for keys in touched:  # left clean for the next batch
        seen[keys] = False
    # Dependencies from the farthest level back: delta(v) += sigma(v) / sigma(w) * (1 +
    # delta(w)) for each predecessor v of w; every pair past level 0 is not its own source.
    delta: Floats = np.zeros(len(levels[-1][0]))
    for depth in range(len(levels) - 1, 0, -1):
        at, sigma = levels[depth]
        score += np.bincount(at, weights=delta, minlength=len(score))
        above, above_sigma = levels[depth - 1]
        up, down = links[depth - 1]
        share = (1.0 + delta) / sigma
        delta = _sums(up, above_sigma[up] * share[down], len(above))


def _sums(groups: Ints, weights: Floats, size: int) -> Floats:
    """Weights summed by group (bincount with weights; a float array, which numpy's stubs miss)."""
    return np.bincount(groups, weights=weights, minlength=size).astype(np.float64, copy=False)


def _undirected(graph: Digraph) -> list[list[int]]:
    # Each node's out-neighbours in order, then its in-neighbours by number; a pair linked both
    # ways appears twice, which the search below tolerates (it compares a neighbour with the
    # parent by node, not by edge).
    n = len(graph.nodes)
    degree, _, targets = graph.csr
    heads = np.repeat(np.arange(n, dtype=np.int64), degree)
    source = np.concatenate((heads, targets))
    other = np.concatenate((targets, heads))
    inward = np.concatenate(
        (np.zeros(len(heads), dtype=np.int64), np.ones(len(heads), dtype=np.int64))
    )
    rank = np.concatenate((np.arange(len(heads), dtype=np.int64), heads))
    order = np.lexsort((rank, inward, source))
    flat: list[int] = other[order].tolist()
    bounds: list[int] = np.searchsorted(source[order], np.arange(n + 1)).tolist()
    return [flat[bounds[v] : bounds[v + 1]] for v in range(n)]


def articulation_points(arcs: Iterable[tuple[str, str]] | Digraph) -> set[str]:
    """The cut vertices of the graph with edge directions ignored."""
    graph = _index(arcs)
    nodes = graph.nodes
    n = len(nodes)
    neighbours = _undirected(graph)
    order = [-1] * n
    low = [0] * n
    parent = [-1] * n
    at = [0] * n  # the next neighbour to look at, per node on the stack
    cut: set[int] = set()
    counter = 0
    for root in range(n):
        if order[root] >= 0:
            continue
        order[root] = low[root] = counter
        counter += 1
        children = 0
        stack = [root]
        while stack:
            v = stack[-1]
            around, i, up, lowest = neighbours[v], at[v], parent[v], low[v]
            child = -1
            # Back edges in a tight loop; stop at the first unvisited neighbour.
            while i < len(around):
                w = around[i]
                i += 1
                seen = order[w]
                if seen < 0:
                    child = w
                    break
                if w != up and seen < lowest:
                    lowest = seen
            at[v], low[v] = i, lowest
            if child >= 0:
                parent[child] = v
                order[child] = low[child] = counter
                counter += 1
                if v == root:
                    children += 1
                stack.append(child)
                continue
            stack.pop()
            if stack:
                u = stack[-1]
                low[u] = min(low[u], lowest)
                if u != root and lowest >= order[u]:
                    cut.add(u)
        if children > 1:
            cut.add(root)
    return {nodes[i] for i in cut}
