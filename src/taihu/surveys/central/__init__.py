"""ODK Central's REST API over the surveys: ``odata``, ``shapes``, ``service`` and ``api``."""

from taihu.surveys.central.api import LARGE_BODIES, router
from taihu.surveys.central.service import Central

__all__ = ["LARGE_BODIES", "Central", "router"]
