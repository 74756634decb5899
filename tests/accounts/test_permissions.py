"""The permissions table: admins hold all, each other role exactly what GRANTS gives it."""

from __future__ import annotations

import pytest

from taihu.accounts import GRANTS, Permission, Principal, Role, may, require
from taihu.core import PermissionDenied


@pytest.mark.parametrize("role", list(Role))
def test_roles_hold_what_the_table_grants(role: Role) -> None:
    who = Principal("someone", role)
    for permission in Permission:
        allowed = role is Role.ADMIN or role in GRANTS[permission]
        assert may(who, permission) is allowed
        if allowed:
            require(who, permission)
        else:
            with pytest.raises(PermissionDenied):
                require(who, permission)


def test_enterprise_users_open_no_district_page() -> None:
    factory = Principal("factory", Role.ENTERPRISE, enterprise_ids=frozenset({1}))
    # Their own inbox is the one permission page they open; no district page.
    assert [p for p in Permission if may(factory, p)] == [Permission.READ_INBOX]
    assert may(Principal("analyst", Role.BUREAU), Permission.VIEW_WALL)
    assert not may(Principal("auditor", Role.AUDITOR), Permission.IMPORT_ENTERPRISES)
