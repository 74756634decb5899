"""The node hierarchy: top-level, secondary and enterprise nodes, filing prefixes upward (备案).

``service`` (links to the node above, filings, site records), ``cli`` (``taihu node …``).
"""

from taihu.identifiers.hierarchy.cli import app, resolve_recursively
from taihu.identifiers.hierarchy.service import Filer, HierarchyService, queue_filing

__all__ = [
    "Filer",
    "HierarchyService",
    "app",
    "queue_filing",
    "resolve_recursively",
]
