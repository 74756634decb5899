"""SNMS: the business-system API of China's secondary nodes, over this node's registration.

``handles`` (token, detail, single and batch writes), ``templates`` (v3 template routes),
``reports`` (counts and statistics); ``common`` holds the answer envelope they share.
"""

from taihu.identifiers.snms.common import LARGE_BODIES
from taihu.identifiers.snms.handles import router as handles_router
from taihu.identifiers.snms.reports import router as reports_router
from taihu.identifiers.snms.templates import router as templates_router

ROUTERS = (handles_router, templates_router, reports_router)

__all__ = ["LARGE_BODIES", "ROUTERS"]
