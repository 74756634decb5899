"""Every formula on small hand-made graphs whose answers are worked out by hand."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taihu.chains import (
    ChainSpec,
    Firm,
    Ring,
    SegmentSpec,
    Stage,
    Supply,
    SupplyGraph,
    Thresholds,
    analyze_chain,
    articulation_points,
    betweenness,
    disruption,
    hhi,
    propagate,
    ring_shares,
    simulate,
    sourcing,
)

CHAIN = ChainSpec(
    "toy",
    "玩具链",
    (
        SegmentSpec("raw", "原料", Stage.UPSTREAM),
        SegmentSpec("part", "部件", Stage.MIDSTREAM),
        SegmentSpec("gap", "缺失环节", Stage.MIDSTREAM),
        SegmentSpec("final", "整机", Stage.DOWNSTREAM),
    ),
)


def _graph() -> SupplyGraph:
    firms = [
        Firm("R1", "原料一", segments=frozenset({"raw"})),
        Firm("P1", "部件一", segments=frozenset({"part"})),
        Firm("P2", "部件二", segments=frozenset({"part"})),
        Firm("F1", "整机一", segments=frozenset({"final"})),
        Firm("F2", "整机二", segments=frozenset({"final"})),
        Firm("F3", "整机三", segments=frozenset({"final"})),
    ]
    edges = [
        # raw: R1 (local) sells 20 to each of P1 and P2; an outside firm sells 60 to P1.
        Supply("R1", "P1", "raw", 20),
        Supply("R1", "P2", "raw", 20),
        Supply("ext:X", "P1", "raw", 60, Ring.PROVINCE),
        # part: P1 sells to F1, F2 and F3; F3 also buys from P2, and may substitute.
        Supply("P1", "F1", "part", 30),
        Supply("P1", "F2", "part", 30),
        Supply("P1", "F3", "part", 30),
        Supply("P2", "F3", "part", 10, substitutable=True),
        # an input outside the template, bought from abroad by F1
        Supply("ext:Y", "F1", "chips", 50, Ring.ABROAD),
    ]
    return SupplyGraph.build(firms, edges)


def test_hhi_is_the_sum_of_squared_shares() -> None:
    assert hhi([60, 20]) == pytest.approx(0.75**2 + 0.25**2)  # 0.625
    assert hhi([10]) == 1.0
    assert hhi([5, 5, 5, 5]) == pytest.approx(0.25)
    assert hhi([]) == 0.0


def test_ring_shares_by_value() -> None:
    shares = ring_shares(_graph().by_input["raw"])
    assert shares["district"] == pytest.approx(0.4)  # 40 of 100
    assert shares["province"] == pytest.approx(0.6)
    assert shares["abroad"] == 0.0
    assert ring_shares([]) == {}


def test_sourcing_counts_suppliers_and_concentration() -> None:
    rows = {(s.buyer, s.input): s for s in sourcing(_graph().edges)}
    p1 = rows["P1", "raw"]
    assert (p1.suppliers, p1.value, p1.single_source) == (2, 80, False)
    assert p1.hhi == pytest.approx((20 / 80) ** 2 + (60 / 80) ** 2)  # 0.625
    assert rows["F1", "part"].single_source
    assert rows["F3", "part"].suppliers == 2
    assert rows["F3", "part"].hhi == pytest.approx(0.75**2 + 0.25**2)


def test_segment_findings_and_completeness() -> None:
    analysis = analyze_chain(_graph(), CHAIN, Thresholds(weak_ratio=0.5, chokepoint_dependants=2))
    by_key = {s.key: s for s in analysis.segments}
    assert analysis.completeness == pytest.approx(3 / 4)  # "gap" has no local enterprise
    assert [by_key[k].local_count for k in ("raw", "part", "gap", "final")] == [1, 2, 0, 3]
    assert by_key["gap"].missing
    assert by_key["gap"].status == "missing"
    # raw: 40 local of 100 bought -> 0.4 < 0.5: weak
    assert by_key["raw"].local_ratio == pytest.approx(0.4)
    assert by_key["raw"].weak
    assert by_key["raw"].status == "weak"
    # part: P1 is the sole, non-substitutable supplier of F1 and F2 (F3 has P2 substitutable)
    assert by_key["part"].chokepoints == [("P1", 2)]
    assert by_key["part"].status == "chokepoint"
    assert by_key["final"].local_ratio is None  # nobody buys finished machines in the graph
    assert by_key["final"].status == "ok"
    # part: F1 (30, HHI 1), F2 (30, HHI 1), F3 (40: 30 + 10, HHI 0.625) -> 0.85, 3 concentrated
    part = next(x for x in analysis.segments if x.key == "part")
    assert (part.hhi, part.concentrated, part.buyers) == (pytest.approx(0.85), 3, 3)
    # P1 buys raw from R1 (20, district) and X (60, province): 75 % from outside the region
    [p1] = [b for b in analysis.buyers if b.buyer == "P1"]
    assert (p1.outside_share, p1.max_hhi) == (pytest.approx(0.75), pytest.approx(0.625))
    # chain rings over raw + part edges: 60 of 200 from the province
    assert analysis.rings["province"] == pytest.approx(60 / 200)
    assert analysis.rings["district"] == pytest.approx(140 / 200)


def test_suggestions_name_the_gaps() -> None:
    analysis = analyze_chain(_graph(), CHAIN, Thresholds(weak_ratio=0.5, chokepoint_dependants=2))
    kinds = [(s.kind, s.target) for s in analysis.suggestions]
    assert ("补链", "gap") in kinds  # completeness 3/4 >= 1/2: fill, not build
    assert ("强链", "raw") in kinds
    assert ("强链", "part") in kinds
    assert ("强链", "single-source") in kinds
    assert ("延链", "chips") in kinds
    [choke] = [s for s in analysis.suggestions if s.target == "part"]
    assert choke.reason.id.startswith("{supplier} is the only supplier of {segment}")
    assert choke.reason.params == {"supplier": "部件一", "segment": "部件", "buyers": 2}
    assert choke.reason.render().startswith("部件一 is the only supplier of 部件 to 2 buyers")
    [ext] = analysis.extensions
    assert (ext.input, ext.value, ext.outside_value, ext.buyers) == ("chips", 50, 50, 1)


def test_build_rather_than_fill_when_most_of_the_chain_is_missing() -> None:
    graph = SupplyGraph.build([Firm("R1", "原料一", segments=frozenset({"raw"}))], [])
    analysis = analyze_chain(graph, CHAIN)
    assert analysis.completeness == 0.25
    assert {s.kind for s in analysis.suggestions} == {"建链"}


def test_betweenness_on_a_path_and_a_diamond() -> None:
    # a -> b -> c: only b lies between (a, c).
    assert betweenness([("a", "b"), ("b", "c")]) == {"a": 0.0, "b": 1.0, "c": 0.0}
    # s -> {x, y} -> t: two shortest s-t paths, each middle node carries half.
    diamond = betweenness([("s", "x"), ("s", "y"), ("x", "t"), ("y", "t")])
    assert diamond == {"s": 0.0, "x": 0.5, "y": 0.5, "t": 0.0}
    # a star into a hub and out again: h lies on all 2*2 = 4 (in, out) pairs.
    star = betweenness([("i1", "h"), ("i2", "h"), ("h", "o1"), ("h", "o2")])
    assert star["h"] == 4.0


def test_sampled_betweenness_with_every_source_is_exact() -> None:
    arcs = [("a", "b"), ("b", "c"), ("c", "d"), ("a", "c")]
    assert betweenness(arcs, samples=4) == betweenness(arcs)
    assert betweenness(arcs, samples=2)["a"] == 0.0


def test_articulation_points() -> None:
    # Two triangles joined at c, and a tail d - e: c and d are cut vertices.
    arcs = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e"), ("c", "f"), ("f", "g"),
            ("g", "c")]  # fmt: skip
    assert articulation_points(arcs) == {"c", "d"}
    assert articulation_points([("a", "b"), ("b", "c"), ("c", "a")]) == set()
    assert articulation_points([("a", "b"), ("a", "c")]) == {"a"}  # root with two children


def test_disruption_propagates_transitively_and_respects_substitutes() -> None:
    graph = SupplyGraph.build(
        [Firm(k, k) for k in "ABCDEF"],
        [
            Supply("A", "B", "x", 10),  # B's only x
            Supply("B", "C", "y", 10),  # C's only y  -> falls at depth 2
            Supply("A", "D", "x", 10),
            Supply("E", "D", "x", 10),  # D has a second x supplier: survives
            Supply("A", "F", "x", 10, substitutable=True),  # F can substitute: survives
            Supply("C", "B", "z", 5),  # a cycle back to B: harmless
        ],
    )
    result = simulate(graph, ["A"])
    assert [(f.key, f.input, f.depth) for f in result.fallen] == [("B", "x", 1), ("C", "y", 2)]
    # value at risk: what A, B and C supply in a year: (10+10+10) + 10 + 5
    assert result.value_at_risk == 45
    both = simulate(graph, ["A", "E"])
    assert {f.key for f in both.fallen} == {"B", "C", "D"}


def test_a_buyer_with_one_live_supplier_left_does_not_fall() -> None:
    graph = SupplyGraph.build(
        [Firm(k, k) for k in "ABCX"],
        [Supply("A", "X", "i", 1), Supply("B", "X", "i", 1), Supply("C", "X", "i", 1)],
    )
    assert simulate(graph, ["A", "B"]).fallen == []
    assert [f.key for f in simulate(graph, ["A", "B", "C"]).fallen] == ["X"]


def test_unblock_list_restores_the_most_value_first() -> None:
    graph = SupplyGraph.build(
        [Firm(k, k) for k in ["P", "Q", "B1", "B2", "B3", "C1"]],
        [
            Supply("P", "B1", "x", 10),
            Supply("P", "B2", "x", 10),
            Supply("B1", "C1", "y", 100),
            Supply("Q", "B3", "z", 5),
        ],
    )
    result = simulate(graph, ["Q", "P"])
    # Recovering P restores P, B1, B2 (and C1, which supplies nothing): 20 + 100 = 120.
    first, second = result.unblock
    assert (first.key, first.restores, first.value) == ("P", ("B1", "B2", "C1", "P"), 120)
    assert (second.key, second.restores, second.value) == ("Q", ("B3", "Q"), 5)


def test_unblock_credits_a_buyer_only_once_its_supplier_is_back() -> None:
    # A → B → C with A and B down: B brought back alone would fall again without A, so it
    # restores nothing until A is back, even though B supplies more than A.
    graph = SupplyGraph.build(
        [Firm(k, k) for k in "ABC"],
        [Supply("A", "B", "x", 1), Supply("B", "C", "y", 10)],
    )
    result = simulate(graph, ["A", "B"])
    assert [(f.key, f.depth) for f in result.fallen] == [("C", 1)]
    assert [(u.key, u.restores, u.value) for u in result.unblock] == [
        ("A", ("A",), 1),
        ("B", ("B", "C"), 10),
    ]


def test_unblock_of_the_hand_made_fibre_chain_starts_with_the_preform_maker() -> None:
    # examples/industry-map: B1 (preforms) and C1 (fibre, its only preform supplier is B1)
    # are down. C1 supplies more (1,600) than B1 (1,400), but without B1 it falls again.
    graph = SupplyGraph.build(
        [Firm(k, k) for k in ["B1", "B2", "C1", "C2", "D1", "D2", "D3"]],
        [
            Supply("ext:X1", "B1", "fibre.chemicals", 300, Ring.CHINA),
            Supply("ext:X2", "B1", "fibre.chemicals", 100, Ring.ABROAD),
            Supply("ext:X1", "B2", "fibre.chemicals", 200, Ring.CHINA),
            Supply("B1", "C1", "fibre.preform", 800),
            Supply("B1", "C2", "fibre.preform", 600),
            Supply("B2", "C2", "fibre.preform", 200),
            Supply("ext:X3", "C2", "fibre.preform", 200, Ring.ABROAD),
            Supply("C1", "D1", "fibre.fibre", 900),
            Supply("C1", "D2", "fibre.fibre", 700),
            Supply("C2", "D2", "fibre.fibre", 300),
            Supply("C2", "D3", "fibre.fibre", 400),
        ],
    )
    result = simulate(graph, ["B1", "C1"])
    assert [f.key for f in result.fallen] == ["D1"]
    assert [(u.key, u.restores, u.value) for u in result.unblock] == [
        ("B1", ("B1",), 1400),
        ("C1", ("C1", "D1"), 1600),
    ]
    # An outside supplier taken down: X1 is B2's only chemicals supplier; B1 keeps X2.
    outside = simulate(graph, ["ext:X1"])
    assert [f.key for f in outside.fallen] == ["B2"]


def _brute_unblock(graph: SupplyGraph, down: list[str]) -> list[tuple[str, tuple[str, ...], float]]:
    # The definition, one propagation per option: restored = down before - down after.
    def after(back: set[str]) -> set[str]:
        rest = [k for k in down if k not in back]
        return set(rest) | set(propagate(graph, rest))

    order: list[tuple[str, tuple[str, ...], float]] = []
    back: set[str] = set()
    while len(back) < len(down):
        now = after(back)
        options = []
        for key in sorted(set(down) - back):
            restored = tuple(sorted(now - after(back | {key})))
            options.append((key, restored, sum(graph.out_value(k) for k in restored)))
        best = min(options, key=lambda o: (-o[2], -len(o[1]), o[0]))
        order.append(best)
        back.add(best[0])
    return order


@settings(max_examples=150, deadline=None)
@given(
    edges=st.lists(
        st.tuples(
            st.integers(0, 7), st.integers(0, 7), st.sampled_from("xy"), st.integers(1, 9),
            st.booleans(),
        ),
        max_size=20,
    ),
    down=st.sets(st.integers(0, 7), min_size=1, max_size=6),
    subsets=st.booleans(),
)  # fmt: skip
def test_unblock_passes_match_the_definition(
    edges: list[tuple[int, int, str, int, bool]], down: set[int], subsets: bool
) -> None:
    # The bit-parallel passes (all subsets at once, or one pass per round) give the order and
    # the restored sets of the definition, one propagation per option.
    graph = SupplyGraph.build(
        [Firm(f"N{i}", f"N{i}") for i in range(8)],
        [Supply(f"N{a}", f"N{b}", item, v, substitutable=sub and v % 3 == 0)
         for a, b, item, v, sub in edges if a != b],
    )  # fmt: skip
    keys = [f"N{i}" for i in sorted(down)]
    original = disruption.SUBSET_UNBLOCK
    disruption.SUBSET_UNBLOCK = 8 if subsets else 0
    try:
        got = [(u.key, u.restores, u.value) for u in simulate(graph, keys).unblock]
    finally:
        disruption.SUBSET_UNBLOCK = original
    assert got == _brute_unblock(graph, keys)


def _components(nodes: set[str], arcs: list[tuple[str, str]]) -> int:
    parent = {n: n for n in nodes}

    def root(n: str) -> str:
        while parent[n] != n:
            n = parent[n]
        return n

    for a, b in arcs:
        if a in nodes and b in nodes:
            parent[root(a)] = root(b)
    return len({root(n) for n in nodes})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9)), max_size=25))
def test_articulation_points_match_removal(pairs: list[tuple[int, int]]) -> None:
    # A cut vertex is one whose removal leaves more components than before (directions ignored).
    arcs = [(f"n{a}", f"n{b}") for a, b in pairs]
    nodes = {n for arc in arcs for n in arc}
    before = _components(nodes, arcs)
    expected = {n for n in nodes if _components(nodes - {n}, arcs) > before}
    assert articulation_points(arcs) == expected
