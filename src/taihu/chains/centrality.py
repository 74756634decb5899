"""Structural criticality of a supply graph: betweenness centrality and articulation points.

Betweenness (Brandes 2001, "A faster algorithm for betweenness centrality"): for every node v,
the sum over ordered pairs (s, t), s != v != t, of the share of shortest s→t paths that pass
through v. Directed and unweighted (a supply edge is one hop), not normalised. With ``samples``
the sum runs over that many evenly spaced sources and is scaled by n / samples (Brandes and Pich
2007), for graphs too large for the exact sum.

Articulation points: nodes whose removal disconnects the graph with the direction of the edges
ignored (Hopcroft and Tarjan 1973), found with an iterative depth-first search.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["articulation_points", "betweenness"]


def _index(arcs: Iterable[tuple[str, str]]) -> tuple[list[str], list[list[int]]]:
    names: dict[str, int] = {}
    out: list[set[int]] = []
    for a, b in arcs:
        for node in (a, b):
            if node not in names:
                names[node] = len(names)
                out.append(set())
        if a != b:
            out[names[a]].add(names[b])
    return list(names), [sorted(s) for s in out]


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


def betweenness(arcs: Iterable[tuple[str, str]], *, samples: int | None = None) -> dict[str, float]:
    """Betweenness centrality of every node of a directed graph given by its arcs."""
    nodes, adjacency = _index(arcs)
    n = len(nodes)
    score = [0.0] * n
    if samples is not None and 0 < samples < n:
        chosen = [i * n // samples for i in range(samples)]
    else:
        chosen = list(range(n))
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
    scale = n / len(chosen) if chosen and len(chosen) < n else 1.0
    return {nodes[i]: score[i] * scale for i in range(n)}


def _undirected(adjacency: list[list[int]]) -> list[set[int]]:
    neighbours: list[set[int]] = [set() for _ in adjacency]
    for v, targets in enumerate(adjacency):
        for w in targets:
            neighbours[v].add(w)
            neighbours[w].add(v)
    return neighbours


def articulation_points(arcs: Iterable[tuple[str, str]]) -> set[str]:
    """The cut vertices of the graph with edge directions ignored."""
    nodes, adjacency = _index(arcs)
    n = len(nodes)
    neighbours = _undirected(adjacency)
    order = [-1] * n
    low = [0] * n
    parent = [-1] * n
    cut: set[int] = set()
    counter = 0
    for root in range(n):
        if order[root] >= 0:
            continue
        order[root] = low[root] = counter
        counter += 1
        children = 0
        stack = [(root, iter(sorted(neighbours[root])))]
        while stack:
            v, it = stack[-1]
            advanced = False
            for w in it:
                if order[w] < 0:
                    parent[w] = v
                    order[w] = low[w] = counter
                    counter += 1
                    if v == root:
                        children += 1
                    stack.append((w, iter(sorted(neighbours[w]))))
                    advanced = True
                    break
                if w != parent[v]:
                    low[v] = min(low[v], order[w])
            if advanced:
                continue
            stack.pop()
            if stack:
                u = stack[-1][0]
                low[u] = min(low[u], low[v])
                if u != root and low[v] >= order[u]:
                    cut.add(u)
        if children > 1:
            cut.add(root)
    return {nodes[i] for i in cut}
