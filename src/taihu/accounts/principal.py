"""Who is acting: roles and the principal every service call receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from taihu.core import N_, PermissionDenied

__all__ = ["Principal", "Role"]


class Role(StrEnum):
    """What a user may do on the platform."""

    ADMIN = "admin"
    BUREAU = "bureau"
    AUDITOR = "auditor"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated actor: a user (via token or console session) or the local CLI."""

    name: str
    role: Role
    user_id: int | None = None
    enterprise_ids: frozenset[int] = field(default_factory=frozenset)

    @classmethod
    def system(cls, name: str = "cli") -> Principal:
        """The operator at the server's own shell (``taihu`` commands), acting as admin."""
        return cls(name=name, role=Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        """Whether the principal holds the admin role."""
        return self.role is Role.ADMIN

    def require_role(self, *roles: Role) -> None:
        """Raise unless the principal is an admin or holds one of ``roles``."""
        if self.role is Role.ADMIN or self.role in roles:
            return
        allowed = ", ".join(sorted(r.value for r in roles)) or "admin"
        raise PermissionDenied(
            N_("this needs the role {allowed}; {name} has {role}"),
            allowed=str(allowed),
            name=self.name,
            role=self.role.value,
            code="role_required",
        )

    @property
    def sees_all_enterprises(self) -> bool:
        """Whether the principal reads every enterprise (the platform's staff roles)."""
        return self.role in (Role.ADMIN, Role.BUREAU, Role.AUDITOR)

    def can_see_enterprise(self, enterprise_id: int) -> bool:
        """Whether the principal may read an enterprise's data."""
        return self.sees_all_enterprises or enterprise_id in self.enterprise_ids

    def require_enterprise(self, enterprise_id: int) -> None:
        """Raise unless the principal may act for an enterprise."""
        if self.role is Role.ADMIN or enterprise_id in self.enterprise_ids:
            return
        raise PermissionDenied(
            N_("{name} does not act for enterprise {enterprise_id}"),
            name=self.name,
            enterprise_id=enterprise_id,
            code="enterprise_forbidden",
        )
