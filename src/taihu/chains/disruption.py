"""What-if disruption: who loses a critical input, and whom to bring back first.

Propagation. A buyer *loses* an input when every supplier of that input to it is down and none
of those supply edges is marked substitutable. A buyer that loses an input is down in turn, and
so on until nothing changes (a fixed point; cycles are safe, every enterprise falls at most
once). The work is proportional to the edges leaving fallen enterprises.

Unblock list (以点带线扩面). Bringing a down enterprise back restores what is no longer down
afterwards, given everything else still down: a buyer whose own supplier is still down restores
nothing, not even itself (it would fall again at once). Greedily by marginal gain: pick the
down enterprise whose recovery, given the ones already picked, restores the most annual value
(what the restored enterprises supply, its own included); repeat. The first entries are the
points that bring whole lines back. Up to ``SUBSET_UNBLOCK`` down enterprises, one bit-parallel
pass computes every subset of recoveries; up to ``EXACT_UNBLOCK``, one pass per round; beyond, a
single round ranks them all. The passes visit only enterprises that are down when nothing is
recovered. What a query reads is indexed once per graph and kept for the next query
(``SupplyGraph.what_if``: numbered pairs, their supplier counts, their suppliers' names).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from taihu.chains.facts import SupplyGraph

__all__ = [
    "EXACT_UNBLOCK",
    "SUBSET_UNBLOCK",
    "Disruption",
    "Fallen",
    "Unblock",
    "propagate",
    "simulate",
]

# Up to SUBSET_UNBLOCK down enterprises, one pass computes every subset of recoveries; up to
# EXACT_UNBLOCK, one pass per greedy round; beyond, one round ranks them all.
SUBSET_UNBLOCK = 8
EXACT_UNBLOCK = 16


@dataclass(frozen=True, slots=True)
class Fallen:
    """An enterprise down because it lost every supplier of an input."""

    key: str
    input: str
    because: tuple[str, ...]
    depth: int


@dataclass(frozen=True, slots=True)
class Unblock:
    """One step of the unblock list: recover ``key`` to restore these enterprises."""

    key: str
    restores: tuple[str, ...]
    value: float


@dataclass(slots=True)
class Disruption:
    """The outcome of a disruption query."""

    down: list[str]
    fallen: list[Fallen]
    value_at_risk: float
    unblock: list[Unblock] = field(default_factory=list)


def propagate(graph: SupplyGraph, down: Iterable[str]) -> dict[str, Fallen]:
    """Everything that falls after ``down`` (not included), with the input each one lost."""
    net = graph.what_if()
    flow = net.arrays
    gone = np.zeros(len(net.keys), dtype=np.bool_)
    frontier = np.array(sorted(net.ids[k] for k in set(down) if k in net.ids), dtype=np.int64)
    gone[frontier] = True
    # live[pair] = suppliers of that input still up; substitutable pairs never fall.
    live = flow.counts.copy()
    fallen: dict[str, Fallen] = {}
    depth = 0
    # Breadth-first, a level at a time, in the order a queue would take: the enterprises of a
    # level in the order they fell, each one's outlets in order. A buyer falls through the pair
    # that reached zero first in that order (as the queue would see it).
    while len(frontier):
        depth += 1
        fan = flow.starts[frontier + 1] - flow.starts[frontier]
        first = np.repeat(flow.starts[frontier] - np.cumsum(fan) + fan, fan)
        pairs = flow.outlets[first + np.arange(int(fan.sum()), dtype=np.int64)]
        buyers = flow.buyer[pairs]
        keep = ~flow.protected[pairs] & ~gone[buyers]
        pairs, buyers = pairs[keep], buyers[keep]
        np.subtract.at(live, pairs, 1)
        hit = live[pairs] == 0
        # Where each emptied pair reached zero: its last place in the level's order.
        place = np.flatnonzero(hit)
        last = np.full(len(live), -1, dtype=np.int64)
        last[pairs[place]] = place
        place = place[last[pairs[place]] == place]
        # Each buyer by the first of its emptied pairs; the level's fallen in that order.
        owner = buyers[place]
        firsts = np.unique(owner, return_index=True)[1]
        place = np.sort(place[firsts])
        frontier = buyers[place]
        gone[frontier] = True
        keys, item = net.keys, net.item
        for pair, buyer in zip(pairs[place].tolist(), frontier.tolist(), strict=True):
            key = keys[buyer]
            fallen[key] = Fallen(key, item[pair], net.named(pair), depth)
    return fallen


def _value(graph: SupplyGraph, keys: Iterable[str]) -> float:
    return sum(graph.out_value(k) for k in keys)


def simulate(graph: SupplyGraph, down: Iterable[str], *, unblock: bool = True) -> Disruption:
    """Propagate a disruption and, when asked, rank the down enterprises for recovery."""
    down = sorted(set(down))
    fallen = propagate(graph, down)
    result = Disruption(
        down=down,
        fallen=sorted(fallen.values(), key=lambda f: (f.depth, f.key)),
        value_at_risk=_value(graph, [*down, *fallen]),
    )
    if unblock and down:
        result.unblock = _unblock(graph, down, _reach(graph, [*down, *fallen]))
    return result


def _unblock(graph: SupplyGraph, down: list[str], reach: bytearray) -> list[Unblock]:
    """The greedy unblock order: best marginal gain first, given the ones already picked."""
    if len(down) <= SUBSET_UNBLOCK:
        # Every subset of recoveries in one pass; the greedy walk then reads the table.
        subsets = [
            frozenset(k for i, k in enumerate(down) if bits >> i & 1)
            for bits in range(1 << len(down))
        ]
        index = {s: i for i, s in enumerate(subsets)}
        table = _Scenarios(graph, down, subsets, reach)
        order, picked = [], frozenset[str]()
        while len(picked) < len(down):
            before = index[picked]
            key = min((k for k in down if k not in picked),
                      key=lambda k: table.rank(before, index[picked | {k}], k))  # fmt: skip
            order.append(table.option(before, index[picked | {key}], key))
            picked = picked | {key}
        return order
    order, picked = [], frozenset[str]()
    remaining = list(down)
    while remaining:
        scenarios = [picked, *(picked | {k} for k in remaining)]
        table = _Scenarios(graph, down, scenarios, reach)
        ranked = sorted(range(1, len(scenarios)), key=lambda i: table.rank(0, i, remaining[i - 1]))
        if len(remaining) > EXACT_UNBLOCK:
            # Past this many, greedy rounds (one pass each) add up: rank the rest in one round.
            return order + [table.option(0, i, remaining[i - 1]) for i in ranked]
        best = remaining[ranked[0] - 1]
        order.append(table.option(0, ranked[0], best))
        picked = picked | {best}
        remaining.remove(best)
    return order


class _Scenarios:
    """Who is down in each of several recovery scenarios, computed in one bit-parallel pass.

    Scenario j brings back ``scenarios[j]`` and leaves the rest of ``down`` down. Each
    enterprise gets a bit mask, bit j set when it is down in scenario j: a down enterprise's
    own bits (down, not brought back), or'd with, over its non-substitutable inputs, the and of
    its suppliers' masks. Masks only gain bits, so a work list reaches the fixed point; the work
    is about that of one propagation, whatever the number of scenarios.
    """

    def __init__(
        self,
        graph: SupplyGraph,
        down: list[str],
        scenarios: list[frozenset[str]],
        reach: bytearray,
    ):
        self.graph = graph
        forced: dict[str, int] = {}
        for key in down:
            forced[key] = sum(1 << j for j, back in enumerate(scenarios) if key not in back)
        masks = _down_masks(graph, forced, reach)
        # Totals per scenario, from the enterprises grouped by mask (few distinct masks).
        self.groups: dict[int, list[str]] = defaultdict(list)
        values: dict[int, float] = defaultdict(float)
        for key, mask in masks.items():
            self.groups[mask].append(key)
            values[mask] += graph.out_value(key)
        self.value = [0.0] * len(scenarios)
        self.count = [0] * len(scenarios)
        for mask, keys in self.groups.items():
            for j in range(len(scenarios)):
                if mask >> j & 1:
                    self.value[j] += values[mask]
                    self.count[j] += len(keys)

    def rank(self, before: int, after: int, key: str) -> tuple[float, int, str]:
        """The option's place: most value restored, then most enterprises, then by key."""
        # Recoveries only shrink the down set, so what one restores is the difference.
        if self.count[before] == self.count[after]:
            return (-0.0, 0, key)
        return (self.value[after] - self.value[before], self.count[after] - self.count[before],
                key)  # fmt: skip

    def option(self, before: int, after: int, key: str) -> Unblock:
        """Bringing ``key`` back, from scenario ``before`` to ``after``: what it restores."""
        if self.count[before] == self.count[after]:
            return Unblock(key, (), 0.0)
        restored = tuple(
            sorted(
                k
                for mask, keys in self.groups.items()
                if mask >> before & 1 and not mask >> after & 1
                for k in keys
            )
        )
        return Unblock(key, restored, self.value[before] - self.value[after])


def dependants(graph: SupplyGraph) -> dict[str, int]:
    """For each enterprise, how many would fall if it alone went down (for ranking)."""
    counts: dict[str, int] = defaultdict(int)
    for key in graph.by_supplier:
        counts[key] = len(propagate(graph, [key]))
    return dict(counts)


def _reach(graph: SupplyGraph, keys: list[str]) -> bytearray:
    """The enterprises down when nothing is recovered, as flags by number."""
    net = graph.what_if()
    flags = bytearray(len(net.keys))
    for key in keys:
        if key in net.ids:
            flags[net.ids[key]] = 1
    return flags


def _down_masks(graph: SupplyGraph, forced: dict[str, int], reach: bytearray) -> dict[str, int]:
    """The fixed point of the scenario masks from the down enterprises' own bits."""
    # Recovering can only shrink the down set, so no enterprise outside ``reach`` (down when
    # nothing is recovered) is down in any scenario: its mask stays empty, and pairs it buys
    # are skipped before any work (most outlets of a fallen supplier lead to buyers that stand).
    net = graph.what_if()
    outlets, buyers, suppliers, protected, item = (
        net.outlets, net.buyer, net.suppliers, net.protected, net.item
    )  # fmt: skip
    own = {net.ids[k]: m for k, m in forced.items() if m and k in net.ids}
    masks = [0] * len(net.keys)
    for i, m in own.items():
        masks[i] = m
    lost: dict[int, dict[str, int]] = {}  # buyer -> input -> and of its suppliers' masks
    queue = deque(own)
    while queue:
        supplier = queue.popleft()
        for pair in outlets[supplier]:
            if protected[pair] or not reach[buyers[pair]]:
                continue
            both = -1
            for other in suppliers[pair]:
                both &= masks[other]
                if not both:
                    break
            buyer = buyers[pair]
            inputs = lost.setdefault(buyer, {})
            if inputs.get(item[pair], 0) == both:
                continue
            inputs[item[pair]] = both
            mask = own.get(buyer, 0)
            for value in inputs.values():
                mask |= value
            if mask != masks[buyer]:
                masks[buyer] = mask
                queue.append(buyer)
    found = {net.keys[i]: masks[i] for i in (*own, *lost) if masks[i]}
    # A down enterprise with no edges at all is in no index but still down.
    found.update((k, m) for k, m in forced.items() if m and k not in net.ids)
    return found
