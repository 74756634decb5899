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

from collections import deque
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


def betweenness(arcs: Iterable[tuple[str, str]], *, samples: int | None = None) -> dict[str, float]:
    """Betweenness centrality of every node of a directed graph given by its arcs."""
    nodes, adjacency = _index(arcs)
    n = len(nodes)
    score = [0.0] * n
    if samples is not None and 0 < samples < n:
        chosen = [i * n // samples for i in range(samples)]
    else:
        chosen = list(range(n))
    for s in chosen:
        stack: list[int] = []
        preds: list[list[int]] = [[] for _ in range(n)]
        sigma = [0] * n
        sigma[s] = 1
        dist = [-1] * n
        dist[s] = 0
        queue = deque([s])
        while queue:
            v = queue.popleft()
            stack.append(v)
            for w in adjacency[v]:
                if dist[w] < 0:
                    dist[w] = dist[v] + 1
                    queue.append(w)
                if dist[w] == dist[v] + 1:
                    sigma[w] += sigma[v]
                    preds[w].append(v)
        delta = [0.0] * n
        while stack:
            w = stack.pop()
            for v in preds[w]:
                delta[v] += sigma[v] / sigma[w] * (1 + delta[w])
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
