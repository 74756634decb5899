"""HOME_NA under a prefix follows the same admin rules as its handles, admin groups included."""

from __future__ import annotations

import pytest

from taihu.accounts import Principal
from taihu.core import Database, FrozenClock, PermissionDenied
from taihu.identifiers import AdminPermission, Handle, HandleAdmin, HandleValue, IdentifierService
from taihu.identifiers.handle import ADMIN_TYPE, AdminRef, encode_admin
from taihu.identifiers.records.json_values import VLIST_TYPE, encode_vlist
from tests.identifiers.conftest import PREFIX

pytestmark = pytest.mark.usefixtures("prefixes")

SYSTEM = Principal.system("test")
LI = HandleAdmin(300, f"{PREFIX}/LI")  # in TEAM
WANG = HandleAdmin(300, f"{PREFIX}/WANG")  # in no group


async def test_a_group_named_by_the_prefix_admin_handle_may_home_sub_prefixes(
    db: Database, clock: FrozenClock
) -> None:
    team = HandleValue(200, VLIST_TYPE, encode_vlist([(300, LI.handle)]))
    grant = AdminRef(f"{PREFIX}/TEAM", 200, AdminPermission.ADD_NAMING_AUTH)
    async with db.session() as session:
        service = IdentifierService(session, clock)
        await service.put(SYSTEM, Handle(f"{PREFIX}/TEAM"), [team])
        admin = Handle(f"{PREFIX}/ADMIN")
        admin_values = await service.values(admin)
        granted = HandleValue(101, ADMIN_TYPE, encode_admin(grant))
        await service.put(SYSTEM, admin, [*admin_values, granted], overwrite=True)
    async with db.session() as session:
        service = IdentifierService(session, clock)
        with pytest.raises(PermissionDenied):
            await service.home_prefix(WANG, f"{PREFIX}.1", homed=True)
        homed = await service.home_prefix(LI, f"{PREFIX}.1", homed=True)
    assert (homed.prefix, homed.status) == (f"{PREFIX}.1", "active")
