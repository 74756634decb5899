"""Industry chains: templates (data, versioned), supply relationships, gap and risk analytics.

The analytics are pure functions over plain data (``SupplyGraph``), public here so the
operation monitor can reuse them.
"""

from taihu.chains.analysis_schemas import AnalysisOut, DisruptionOut
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
from taihu.chains.models import (
    ChainTemplate,
    ChainTemplateVersion,
    SegmentTag,
    SupplyEdge,
    TagStatus,
)
from taihu.chains.schemas import ChainOut
from taihu.chains.service import ChainService, EdgeIn
from taihu.chains.tagging import TagSuggestion, suggest_segments
from taihu.chains.template_import import TemplateImport, import_templates
from taihu.chains.template_store import SaveOutcome, TemplateStore
from taihu.chains.templates import parse_stage, parse_template, template_document

__all__ = [
    "AnalysisOut",
    "BuyerSourcing",
    "ChainAnalysis",
    "ChainOut",
    "ChainService",
    "ChainSpec",
    "ChainTemplate",
    "ChainTemplateVersion",
    "Disruption",
    "DisruptionOut",
    "EdgeIn",
    "Extension",
    "Fallen",
    "Firm",
    "Ring",
    "SaveOutcome",
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
    "TemplateImport",
    "TemplateStore",
    "Thresholds",
    "Unblock",
    "analyze_chain",
    "articulation_points",
    "betweenness",
    "buyer_sourcing",
    "chain_edges",
    "hhi",
    "import_edges",
    "import_templates",
    "level",
    "parse_stage",
    "parse_template",
    "propagate",
    "ring_shares",
    "simulate",
    "sourcing",
    "suggest_segments",
    "template_document",
    "write_edges",
]
