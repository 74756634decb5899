"""Industry chains: templates and segments, supply relationships, gap and risk analytics.

The analytics are pure functions over plain data (``SupplyGraph``), public here so the
operation monitor can reuse them.
"""

from taihu.chains.analytics import (
    BuyerSourcing,
    ChainAnalysis,
    Extension,
    SegmentStatus,
    Sourcing,
    Suggestion,
    Thresholds,
    analyze_chain,
    buyer_sourcing,
    chain_edges,
    hhi,
    level,
    ring_shares,
    sourcing,
)
from taihu.chains.centrality import articulation_points, betweenness
from taihu.chains.disruption import Disruption, Fallen, Unblock, propagate, simulate
from taihu.chains.edge_import import import_edges, write_edges
from taihu.chains.facts import ChainSpec, Firm, Ring, SegmentSpec, Stage, Supply, SupplyGraph
from taihu.chains.models import SegmentTag, SupplyEdge, TagStatus
from taihu.chains.schemas import AnalysisOut, DisruptionOut
from taihu.chains.service import ChainService, EdgeIn
from taihu.chains.tagging import TagSuggestion, suggest_segments
from taihu.chains.templates import chain_template, chain_templates, english_name

__all__ = [
    "AnalysisOut",
    "BuyerSourcing",
    "ChainAnalysis",
    "ChainService",
    "ChainSpec",
    "Disruption",
    "DisruptionOut",
    "EdgeIn",
    "Extension",
    "Fallen",
    "Firm",
    "Ring",
    "SegmentSpec",
    "SegmentStatus",
    "SegmentTag",
    "Sourcing",
    "Stage",
    "Suggestion",
    "Supply",
    "SupplyEdge",
    "SupplyGraph",
    "TagStatus",
    "TagSuggestion",
    "Thresholds",
    "Unblock",
    "analyze_chain",
    "articulation_points",
    "betweenness",
    "buyer_sourcing",
    "chain_edges",
    "chain_template",
    "chain_templates",
    "english_name",
    "hhi",
    "import_edges",
    "level",
    "propagate",
    "ring_shares",
    "simulate",
    "sourcing",
    "suggest_segments",
    "write_edges",
]
