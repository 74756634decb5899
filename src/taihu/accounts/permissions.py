"""What each role may open: named permissions, granted to roles in one table.

The console's routes check these, and its navigation and action links are derived from the same
checks, so a link is shown exactly when the page behind it would open. Admins hold every
permission. Which rows of data a permitted page shows (an enterprise user's own enterprises)
is still decided by the services.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from taihu.accounts.principal import Principal, Role

__all__ = ["GRANTS", "Permission", "may", "require"]


class Permission(StrEnum):
    """Something a role may open or do in the console."""

    VIEW_MONITOR = "view_monitor"
    VIEW_INDUSTRY_MAP = "view_industry_map"
    VIEW_AUDIT = "view_audit"
    VIEW_WALL = "view_wall"
    IMPORT_ENTERPRISES = "import_enterprises"
    IMPORT_POWER = "import_power"
    REVIEW_PREFIXES = "review_prefixes"
    VIEW_SURVEYS = "view_surveys"
    VIEW_NOTICES = "view_notices"
    READ_INBOX = "read_inbox"
    REVIEW_PROGRAMMES = "review_programmes"
    VIEW_PROGRAMME_REGISTRY = "view_programme_registry"
    FILE_REPORTS = "file_reports"


GRANTS: Mapping[Permission, frozenset[Role]] = {
    Permission.VIEW_MONITOR: frozenset({Role.BUREAU, Role.AUDITOR}),
    Permission.VIEW_INDUSTRY_MAP: frozenset({Role.BUREAU, Role.AUDITOR}),
    Permission.VIEW_AUDIT: frozenset({Role.BUREAU, Role.AUDITOR}),
    Permission.VIEW_WALL: frozenset({Role.BUREAU}),
    Permission.IMPORT_ENTERPRISES: frozenset({Role.BUREAU}),
    Permission.IMPORT_POWER: frozenset({Role.BUREAU}),
    Permission.REVIEW_PREFIXES: frozenset({Role.AUDITOR}),
    Permission.VIEW_SURVEYS: frozenset({Role.BUREAU, Role.AUDITOR}),
    Permission.VIEW_NOTICES: frozenset({Role.BUREAU, Role.AUDITOR}),
    Permission.READ_INBOX: frozenset({Role.ENTERPRISE}),
    Permission.REVIEW_PROGRAMMES: frozenset({Role.BUREAU}),
    Permission.VIEW_PROGRAMME_REGISTRY: frozenset({Role.BUREAU, Role.AUDITOR}),
    Permission.FILE_REPORTS: frozenset({Role.BUREAU}),
}


def may(principal: Principal, permission: Permission) -> bool:
    """Whether the principal holds a permission (admins hold all)."""
    return principal.is_admin or principal.role in GRANTS[permission]


def require(principal: Principal, permission: Permission) -> None:
    """Raise unless the principal holds a permission."""
    if not may(principal, permission):
        principal.require_role(*GRANTS[permission])
