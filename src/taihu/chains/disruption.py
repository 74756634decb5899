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
points that bring whole lines back. Each round costs one propagation per candidate that some
fallen enterprise lost an input through; with more than ``EXACT_UNBLOCK`` of those, a single
round ranks them all.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from taihu.chains.facts import SupplyGraph

__all__ = ["EXACT_UNBLOCK", "Disruption", "Fallen", "Unblock", "propagate", "simulate"]

# Up to this many down enterprises that others fell through, the unblock list is the exact
# greedy order; beyond, one round (see ``simulate``).
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
    initially = set(down)
    # live[(buyer, input)] = suppliers of that input still up; substitutable pairs never fall.
    live: dict[tuple[str, str], int] = {}
    fallen: dict[str, Fallen] = {}
    gone = set(initially)
    queue = deque((key, 0) for key in sorted(initially))
    while queue:
        supplier, depth = queue.popleft()
        for buyer, item in graph.outlets(supplier):
            if buyer in gone:
                continue
            pair = (buyer, item)
            left = live.get(pair)
            if left is None:
                # First fallen supplier of this pair: every earlier one would have created it.
                source = graph.sources(buyer)[item]
                if source.substitutable:
                    live[pair] = -1  # never falls
                    continue
                left = len(source.suppliers)
            elif left < 0:
                continue
            live[pair] = left = left - 1
            if left == 0:
                because = tuple(sorted(graph.sources(buyer)[item].suppliers))
                fallen[buyer] = Fallen(buyer, item, because, depth + 1)
                gone.add(buyer)
                queue.append((buyer, depth + 1))
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
    if not unblock:
        return result
    remaining = list(down)
    current = fallen
    while remaining:
        options, causal = _options(graph, remaining, current)
        if causal > EXACT_UNBLOCK:
            # Past this many candidates the greedy rounds (k²/2 propagations) take seconds: rank
            # them all by what each truly restores from the full set, in one round.
            result.unblock.extend(options)
            break
        best = options[0]
        result.unblock.append(best)
        remaining.remove(best.key)
        current = propagate(graph, remaining)
    return result


def _causes(current: dict[str, Fallen]) -> set[str]:
    return {k for f in current.values() for k in f.because}


def _falls(graph: SupplyGraph, key: str, down: set[str]) -> bool:
    """Whether ``key`` loses an input when ``down`` are down."""
    return any(
        not source.substitutable and source.suppliers <= down
        for source in graph.sources(key).values()
    )


def _options(
    graph: SupplyGraph, remaining: list[str], current: dict[str, Fallen]
) -> tuple[list[Unblock], int]:
    """What recovering each down enterprise truly restores, best first; how many needed work.

    Restored = down now (initially down or fallen) minus down after the recovery, so a buyer
    whose own supplier is still down restores nothing: it would fall again at once.
    """
    # An enterprise no fallen one lost an input through changes nobody else: every fallen
    # enterprise still lacks the input it fell for (by induction on the depth). It restores
    # itself, unless it lacks an input too.
    causes = _causes(current)
    before = set(remaining) | set(current)
    options = []
    for key in remaining:
        restored: tuple[str, ...]
        if key in causes:
            rest = [k for k in remaining if k != key]
            after = set(rest) | set(propagate(graph, rest))
            restored = tuple(sorted(before - after))
        else:
            restored = () if _falls(graph, key, before - {key}) else (key,)
        options.append(Unblock(key, restored, _value(graph, restored)))
    options.sort(key=lambda u: (-u.value, -len(u.restores), u.key))
    return options, sum(1 for k in remaining if k in causes)


def dependants(graph: SupplyGraph) -> dict[str, int]:
    """For each enterprise, how many would fall if it alone went down (for ranking)."""
    counts: dict[str, int] = defaultdict(int)
    for key in graph.by_supplier:
        counts[key] = len(propagate(graph, [key]))
    return dict(counts)
