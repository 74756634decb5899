"""Industry chains: templates and segments, supply relationships, gap and risk analytics.

The analytics are pure functions over plain data (``SupplyGraph``), public here so the
operation monitor can reuse them.
"""

from taihu.chains.analytics import (
    ChainAnalysis,
    Extension,
    SegmentStatus,
    Sourcing,
    Suggestion,
    Thresholds,
    analyze_chain,
    chain_edges,
    hhi,
    ring_shares,
    sourcing,
)
from taihu.chains.centrality import articulation_points, betweenness
from taihu.chains.disruption import Disruption, Fallen, Unblock, propagate, simulate
from taihu.chains.facts import ChainSpec, Firm, Ring, SegmentSpec, Stage, Supply, SupplyGraph

__all__ = [
    "ChainAnalysis",
    "ChainSpec",
    "Disruption",
    "Extension",
    "Fallen",
    "Firm",
    "Ring",
    "SegmentSpec",
    "SegmentStatus",
    "Sourcing",
    "Stage",
    "Suggestion",
    "Supply",
    "SupplyGraph",
    "Thresholds",
    "Unblock",
    "analyze_chain",
    "articulation_points",
    "betweenness",
    "chain_edges",
    "hhi",
    "propagate",
    "ring_shares",
    "simulate",
    "sourcing",
]
