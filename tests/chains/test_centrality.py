"""The array betweenness against a textbook Brandes (2001) on random graphs, exact and sampled."""

import random
from collections import deque

import pytest

from taihu.chains import betweenness, centrality


def brandes(arcs: list[tuple[str, str]], sources: list[str] | None = None) -> dict[str, float]:
    """Brandes' algorithm as printed: one breadth-first search and one back pass per source."""
    nodes = list(dict.fromkeys(x for arc in arcs for x in arc))
    out: dict[str, set[str]] = {v: set() for v in nodes}
    for a, b in arcs:
        if a != b:
            out[a].add(b)
    score = dict.fromkeys(nodes, 0.0)
    for s in nodes if sources is None else sources:
        stack: list[str] = []
        before: dict[str, list[str]] = {v: [] for v in nodes}
        sigma = dict.fromkeys(nodes, 0)
        dist = dict.fromkeys(nodes, -1)
        sigma[s], dist[s] = 1, 0
        queue = deque([s])
        while queue:
            v = queue.popleft()
            stack.append(v)
            for w in out[v]:
                if dist[w] < 0:
                    dist[w] = dist[v] + 1
                    queue.append(w)
                if dist[w] == dist[v] + 1:
                    sigma[w] += sigma[v]
                    before[w].append(v)
        delta = dict.fromkeys(nodes, 0.0)
        while stack:
            w = stack.pop()
            for v in before[w]:
                delta[v] += sigma[v] / sigma[w] * (1 + delta[w])
            if w != s:
                score[w] += delta[w]
    return score


def random_arcs(seed: int, nodes: int, arcs: int) -> list[tuple[str, str]]:
    """Arcs drawn at random: cycles, arcs both ways, repeats and self-loops included."""
    rng = random.Random(seed)
    names = [f"n{i}" for i in range(nodes)]
    # Mostly "downstream" arcs (a supply chain's shape), some against the flow.
    drawn = []
    for _ in range(arcs):
        a, b = rng.randrange(nodes), rng.randrange(nodes)
        if rng.random() < 0.85 and a > b:
            a, b = b, a
        drawn.append((names[a], names[b]))
    return drawn


@pytest.mark.parametrize(
    ("seed", "nodes", "arcs"), [(1, 200, 300), (2, 300, 900), (3, 400, 600), (4, 250, 2000)]
)
def test_equals_textbook_brandes_on_random_graphs(seed: int, nodes: int, arcs: int) -> None:
    drawn = random_arcs(seed, nodes, arcs)
    expected = brandes(drawn)
    got = betweenness(drawn)
    assert got.keys() == expected.keys()
    assert any(v > 1 for v in expected.values())  # the graphs have real paths through nodes
    assert got == {k: pytest.approx(v, rel=1e-12, abs=1e-9) for k, v in expected.items()}


def test_a_graph_without_a_path_of_two_arcs_scores_zero() -> None:
    # Two suppliers of one buyer: no source is active, every node scores 0.
    assert betweenness([("a", "b"), ("c", "b")]) == {"a": 0.0, "b": 0.0, "c": 0.0}
    assert betweenness([]) == {}


def test_equals_textbook_brandes_when_the_sources_come_in_many_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn = random_arcs(5, 300, 900)
    expected = betweenness(drawn)
    monkeypatch.setattr(centrality, "_PAIRS", 1000)  # batches of three sources
    got = betweenness(drawn)
    assert got == {k: pytest.approx(v, rel=1e-12, abs=1e-9) for k, v in expected.items()}
    assert got == {k: pytest.approx(v, rel=1e-12, abs=1e-9) for k, v in brandes(drawn).items()}


def test_sampled_sums_the_chosen_sources_scaled() -> None:
    # The estimate is the exact sum over the evenly spaced sources, times active / chosen.
    drawn = random_arcs(6, 300, 900)
    graph = centrality.Digraph.of(drawn)
    active = [
        s for s in range(len(graph.nodes)) if any(graph.adjacency[w] for w in graph.adjacency[s])
    ]
    chosen = [graph.nodes[active[i * len(active) // 40]] for i in range(40)]
    scale = len(active) / 40
    expected = {k: v * scale for k, v in brandes(drawn, chosen).items()}
    got = betweenness(drawn, samples=40)
    assert got == {k: pytest.approx(v, rel=1e-12, abs=1e-9) for k, v in expected.items()}
