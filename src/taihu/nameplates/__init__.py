"""Device nameplates: a device's Handle identifier, linked both ways, and its public state."""

from taihu.nameplates.api import base_url, forget_resolved, link_new_device
from taihu.nameplates.api import router as api_router
from taihu.nameplates.service import LINK_INDEX_FROM, NameplateService, PublicDevice, public_path

__all__ = [
    "LINK_INDEX_FROM",
    "NameplateService",
    "PublicDevice",
    "api_router",
    "base_url",
    "forget_resolved",
    "link_new_device",
    "public_path",
]
