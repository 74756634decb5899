"""The array computations of ``analyze_chain`` equal the plain-Python definitions, bit for bit."""

from collections import defaultdict, deque

from hypothesis import given, settings
from hypothesis import strategies as st

from taihu.chains import (
    ChainSpec,
    Fallen,
    Firm,
    Ring,
    SegmentSpec,
    Stage,
    Supply,
    SupplyGraph,
    Thresholds,
    analyze_chain,
    buyer_sourcing,
    chain_edges,
    propagate,
    ring_shares,
    sourcing,
)
from taihu.chains.centrality import Digraph

CHAIN = ChainSpec(
    "toy",
    "玩具链",
    (
        SegmentSpec("a", "甲", Stage.UPSTREAM),
        SegmentSpec("b", "乙", Stage.MIDSTREAM),
        SegmentSpec("c", "丙", Stage.DOWNSTREAM),
    ),
)
LIMITS = Thresholds(chokepoint_dependants=2, hhi_high=0.5)

edge = st.tuples(
    st.integers(0, 11),
    st.integers(0, 11),
    st.sampled_from("abcxy"),  # x, y: inputs outside the template
    st.sampled_from([0.0, 0.1, 0.7, 1.0, 3.3, 10.0]),
    st.sampled_from(list(Ring)),
    st.booleans(),
)


def _graph(edges: list[tuple[int, int, str, float, Ring, bool]], tags: list[int]) -> SupplyGraph:
    # N0-N7 are district enterprises tagged into a segment (or none); N8-N11 are outside.
    firms = [
        Firm(f"N{i}", f"N{i}", segments=frozenset({"abc"[t]} if t < 3 else set()))
        for i, t in enumerate(tags)
    ]
    supplies = [
        Supply(f"N{a}", f"N{b}", item, value, ring, sub) for a, b, item, value, ring, sub in edges
    ]
    return SupplyGraph.build(firms, supplies)


def _extensions(graph: SupplyGraph) -> dict[str, tuple[float, float, int]]:
    found: dict[str, list[Supply]] = defaultdict(list)
    members = sorted({k for s in CHAIN.segments for k in graph.members(s.key)})
    for buyer in members:
        for e in graph.by_buyer.get(buyer, ()):
            if e.input not in CHAIN.segment_keys:
                found[e.input].append(e)
    return {
        item: (
            sum(e.value for e in edges),
            sum(e.value for e in edges if e.ring is not Ring.DISTRICT),
            len({e.buyer for e in edges}),
        )
        for item, edges in found.items()
    }


@settings(max_examples=300, deadline=None)
@given(
    edges=st.lists(edge, max_size=40),
    tags=st.lists(st.integers(0, 3), min_size=8, max_size=8),
)
def test_array_analysis_equals_the_definitions(
    edges: list[tuple[int, int, str, float, Ring, bool]], tags: list[int]
) -> None:
    graph = _graph(edges, tags)
    got = analyze_chain(graph, CHAIN, LIMITS)
    plain = chain_edges(graph, CHAIN)
    pairs = sourcing(plain)
    assert got.sourcing == pairs  # every float equal, not merely close
    assert got.buyers == buyer_sourcing(pairs)
    assert got.rings == ring_shares(plain)
    assert got.single_source == [p for p in pairs if p.single_source]
    for seg in got.segments:
        bought = graph.by_input.get(seg.key, [])
        mine = [p for p in pairs if p.input == seg.key]
        total = sum(e.value for e in bought)
        local = sum(e.value for e in bought if e.ring is Ring.DISTRICT)
        assert seg.purchased_value == total
        assert seg.local_ratio == (local / total if total > 0 else None)
        assert seg.rings == ring_shares(bought)
        assert seg.buyers == len(mine)
        assert seg.hhi == (sum(p.hhi * p.value for p in mine) / total if total > 0 else None)
        assert seg.concentrated == sum(1 for p in mine if p.hhi >= LIMITS.hhi_high)
        held: dict[str, int] = defaultdict(int)
        for p in mine:
            if p.only is not None and not p.substitutable and graph.firms[p.only].local:
                held[p.only] += 1
        assert seg.chokepoints == sorted(
            ((k, n) for k, n in held.items() if n >= LIMITS.chokepoint_dependants),
            key=lambda kn: (-kn[1], kn[0]),
        )
    # Extension sums run over a set of members in the plain code (any order): equal to rounding.
    expected = _extensions(graph)
    assert {x.input for x in got.extensions} == {k for k, v in expected.items() if v[1] > 0}
    for x in got.extensions:
        value, outside, buyers = expected[x.input]
        assert abs(x.value - value) <= 1e-9
        assert abs(x.outside_value - outside) <= 1e-9
        assert x.buyers == buyers


@settings(max_examples=200, deadline=None)
@given(edges=st.lists(edge, max_size=40))
def test_chain_arcs_are_numbered_as_digraph_of(
    edges: list[tuple[int, int, str, float, Ring, bool]],
) -> None:
    graph = _graph(edges, [0, 1, 2, 3] * 2)
    plain = Digraph.of((e.supplier, e.buyer) for e in chain_edges(graph, CHAIN))
    fast = Digraph(*graph.arrays().chain(CHAIN.segment_keys).arcs())
    assert fast.nodes == plain.nodes
    assert fast.adjacency == plain.adjacency


def _plain_propagate(graph: SupplyGraph, down: list[str]) -> dict[str, Fallen]:
    # The queue the propagation was written as before it ran a level at a time over arrays.
    net = graph.what_if()
    gone = bytearray(len(net.keys))
    start = sorted(net.ids[k] for k in set(down) if k in net.ids)
    for i in start:
        gone[i] = 1
    live: dict[int, int] = {}
    fallen: dict[str, Fallen] = {}
    queue = deque((i, 0) for i in start)
    while queue:
        supplier, depth = queue.popleft()
        for pair in net.outlets[supplier]:
            buyer = net.buyer[pair]
            if gone[buyer] or net.protected[pair]:
                continue
            left = live.get(pair, len(net.suppliers[pair])) - 1
            live[pair] = left
            if left == 0:
                key = net.keys[buyer]
                because = tuple(sorted(net.keys[s] for s in net.suppliers[pair]))
                fallen[key] = Fallen(key, net.item[pair], because, depth + 1)
                gone[buyer] = 1
                queue.append((buyer, depth + 1))
    return fallen


@settings(max_examples=300, deadline=None)
@given(
    edges=st.lists(edge, max_size=60),
    down=st.lists(st.integers(0, 11), min_size=1, max_size=4),
)
def test_propagation_by_levels_equals_the_queue(
    edges: list[tuple[int, int, str, float, Ring, bool]], down: list[int]
) -> None:
    graph = _graph(edges, [0, 1, 2, 3] * 2)
    keys = [f"N{i}" for i in down]
    got = propagate(graph, keys)
    expected = _plain_propagate(graph, keys)
    assert got == expected
    assert list(got) == list(expected)  # the same order of falling, too
