"""Structural criticality of a supply graph: betweenness centrality and articulation points.

Betweenness (Brandes 2001, "A faster algorithm for betweenness centrality"): for every node v,
the sum over ordered pairs (s, t), s != v != t, of the share of shortest s→t paths that pass
through v. Directed and unweighted (a supply edge is one hop), not normalised. Sources with no
path of two arcs add nothing and are skipped. With ``samples`` the sum runs over that many
evenly spaced sources among the others and is scaled by their number / samples (Brandes and
Pich 2007), for graphs too large for the exact sum.

Articulation points: nodes whose removal disconnects the graph with the direction of the edges
ignored (Hopcroft and Tarjan 1973), found with an iterative depth-first search.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Digraph", "articulation_points", "betweenness"]


@dataclass(frozen=True, slots=True)
class Digraph:
    """Nodes numbered in order of appearance, with each node's distinct out-neighbours."""

    nodes: list[str]
    adjacency: list[list[int]]

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
        return cls(list(names), out)


def _index(arcs: Iterable[tuple[str, str]] | Digraph) -> tuple[list[str], list[list[int]]]:
    graph = arcs if isinstance(arcs, Digraph) else Digraph.of(arcs)
    return graph.nodes, graph.adjacency


def _paths_from(s: int, adjacency: list[list[int]]) -> tuple[list[int], list[int], list[int]]:
    """Breadth-first from s: visiting order, shortest-path counts and distances."""
    n = len(adjacency)
    sigma = [0] * n
    sigma[s] = 1
    dist = [-1] * n
    dist[s] = 0
    order = [s]
    i = 0
    while i < len(order):
        v = order[i]
        i += 1
        next_dist, paths = dist[v] + 1, sigma[v]
        for w in adjacency[v]:
            if dist[w] < 0:
                dist[w] = next_dist
                sigma[w] = paths
                order.append(w)
            elif dist[w] == next_dist:
                sigma[w] += paths
    return order, sigma, dist


def betweenness(
    arcs: Iterable[tuple[str, str]] | Digraph, *, samples: int | None = None
) -> dict[str, float]:
    """Betweenness centrality of every node of a directed graph given by its arcs."""
    nodes, adjacency = _index(arcs)
    n = len(nodes)
    score = [0.0] * n
    # A source with no path of two arcs adds nothing (its buyers have no one further to pass
    # to), so only the others are summed, or sampled.
    active = [s for s in range(n) if any(adjacency[w] for w in adjacency[s])]
    if samples is not None and 0 < samples < len(active):
        chosen = [active[i * len(active) // samples] for i in range(samples)]
    else:
        chosen = active
    incoming: list[list[int]] = [[] for _ in range(n)]
    for v, targets in enumerate(adjacency):
        for w in targets:
            incoming[w].append(v)
    for s in chosen:
        order, sigma, dist = _paths_from(s, adjacency)
        # The visiting order read backwards lists every node after all nodes further from s,
        # so dependencies accumulate from the farthest back; a predecessor of w on a
        # shortest path is an in-neighbour one step closer to s.
        delta = [0.0] * n
        for w in reversed(order):
            before, share = dist[w] - 1, (1.0 + delta[w]) / sigma[w]
            for v in incoming[w]:
                if dist[v] == before:
                    delta[v] += sigma[v] * share
            if w != s:
                score[w] += delta[w]
    scale = len(active) / len(chosen) if chosen and len(chosen) < len(active) else 1.0
    return {nodes[i]: score[i] * scale for i in range(n)}


def _undirected(adjacency: list[list[int]]) -> list[list[int]]:
    # Out- and in-neighbours; a pair linked both ways appears twice, which the search below
    # tolerates (it compares a neighbour with the parent by node, not by edge).
    incoming: list[list[int]] = [[] for _ in adjacency]
    for v, targets in enumerate(adjacency):
        for w in targets:
            incoming[w].append(v)
    return [out + into for out, into in zip(adjacency, incoming, strict=True)]


def articulation_points(arcs: Iterable[tuple[str, str]] | Digraph) -> set[str]:
    """The cut vertices of the graph with edge directions ignored."""
    nodes, adjacency = _index(arcs)
    n = len(nodes)
    neighbours = _undirected(adjacency)
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
