"""Admin groups: an HS_ADMIN value naming an HS_VLIST grants its members (nested, no loops)."""

from __future__ import annotations

import pytest

from taihu.accounts import Principal
from taihu.core import Database, FrozenClock, PermissionDenied
from taihu.identifiers import AdminPermission, Handle, HandleAdmin, HandleValue, IdentifierService
from taihu.identifiers.handle import ADMIN_TYPE, AdminRef, encode_admin
from taihu.identifiers.records.json_values import VLIST_TYPE, encode_vlist
from taihu.identifiers.registration.admins import MAX_DEPTH
from tests.identifiers.conftest import PREFIX

pytestmark = pytest.mark.usefixtures("prefixes")

SYSTEM = Principal.system("test")
LI = HandleAdmin(300, f"{PREFIX}/LI")  # in NIGHT, which is in TEAM
ZHANG = HandleAdmin(300, f"{PREFIX}/ZHANG")  # in TEAM
WANG = HandleAdmin(300, f"{PREFIX}/WANG")  # in no group
MODIFY = AdminPermission.MODIFY_VALUE | AdminPermission.ADD_VALUE | AdminPermission.DELETE_VALUE


def _admin(index: int, handle: str, permissions: AdminPermission) -> HandleValue:
    return HandleValue(index, ADMIN_TYPE, encode_admin(AdminRef(handle, 200, permissions)))


def _group(*members: tuple[int, str]) -> list[HandleValue]:
    return [HandleValue(200, VLIST_TYPE, encode_vlist(list(members)))]


async def _put(db: Database, clock: FrozenClock, suffix: str, values: list[HandleValue]) -> None:
    async with db.session() as session:
        await IdentifierService(session, clock).put(
            SYSTEM, Handle(f"{PREFIX}/{suffix}"), values, overwrite=True
        )


@pytest.fixture
async def groups(db: Database, clock: FrozenClock, prefixes: int) -> None:
    """TEAM = [ZHANG, NIGHT], NIGHT = [LI]; ELV-1 is administered by TEAM (values only)."""
    await _put(db, clock, "TEAM", _group((300, f"{PREFIX}/ZHANG"), (200, f"{PREFIX}/NIGHT")))
    await _put(db, clock, "NIGHT", _group((300, f"{PREFIX}/LI")))
    await _put(db, clock, "ELV-1", [
        HandleValue(1, "URL", b"https://lift.example/1"),
        _admin(100, f"{PREFIX}/TEAM", MODIFY),
    ])  # fmt: skip


async def _modify(db: Database, clock: FrozenClock, caller: HandleAdmin, url: bytes) -> None:
    async with db.session() as session:
        await IdentifierService(session, clock).put(
            caller, Handle(f"{PREFIX}/ELV-1"), [HandleValue(1, "URL", url)], indexes=[1]
        )


@pytest.mark.usefixtures("groups")
async def test_members_and_nested_members_get_the_groups_permissions(
    db: Database, clock: FrozenClock
) -> None:
    await _modify(db, clock, ZHANG, b"https://lift.example/zhang")
    await _modify(db, clock, LI, b"https://lift.example/li")
    async with db.session() as session:
        service = IdentifierService(session, clock)
        assert (await service.values(Handle(f"{PREFIX}/ELV-1")))[
            0
        ].data == b"https://lift.example/li"
        assert await service.is_admin_of(LI, Handle(f"{PREFIX}/ELV-1")) is False  # no read bit
        # The group holds value rights, not the right to delete the handle.
        with pytest.raises(PermissionDenied):
            await service.delete(LI, Handle(f"{PREFIX}/ELV-1"))
    with pytest.raises(PermissionDenied):
        await _modify(db, clock, WANG, b"https://lift.example/wang")


async def test_loops_and_deep_nesting_end(db: Database, clock: FrozenClock) -> None:
    # LOOP-A and LOOP-B contain each other; WANG is in neither.
    await _put(db, clock, "LOOP-A", _group((200, f"{PREFIX}/LOOP-B")))
    await _put(db, clock, "LOOP-B", _group((200, f"{PREFIX}/LOOP-A"), (300, f"{PREFIX}/ZHANG")))
    # A chain DEEP-0 → DEEP-1 → … with LI at the bottom, one list deeper than followed.
    for n in range(MAX_DEPTH):
        await _put(db, clock, f"DEEP-{n}", _group((200, f"{PREFIX}/DEEP-{n + 1}")))
    await _put(db, clock, f"DEEP-{MAX_DEPTH}", _group((300, f"{PREFIX}/LI")))
    await _put(db, clock, "ELV-2", [
        HandleValue(1, "URL", b"https://lift.example/2"),
        _admin(100, f"{PREFIX}/LOOP-A", MODIFY),
        _admin(101, f"{PREFIX}/DEEP-0", MODIFY),
    ])  # fmt: skip
    target = Handle(f"{PREFIX}/ELV-2")
    async with db.session() as session:
        service = IdentifierService(session, clock)
        new = [HandleValue(1, "URL", b"https://lift.example/changed")]
        for outsider in (WANG, LI):  # LI sits below the depth limit
            with pytest.raises(PermissionDenied):
                await service.put(outsider, target, new, indexes=[1])
        await service.put(ZHANG, target, new, indexes=[1])  # reached through the loop


@pytest.mark.usefixtures("groups")
async def test_a_group_named_by_the_prefix_admin_handle_administers_the_prefix(
    db: Database, clock: FrozenClock
) -> None:
    async with db.session() as session:
        service = IdentifierService(session, clock)
        with pytest.raises(PermissionDenied):
            await service.put(LI, Handle(f"{PREFIX}/NEW-1"), [HandleValue(1, "URL", b"x")])
        assert PREFIX not in [p.prefix for p in await service.prefixes_of(LI)]
    # The prefix admin names TEAM as a second admin of the prefix, allowed to add handles.
    admin_values = await _values(db, clock, f"{PREFIX}/ADMIN")
    grant = _admin(101, f"{PREFIX}/TEAM", AdminPermission.ADD_HANDLE | AdminPermission.LIST_HANDLE)
    await _put(db, clock, "ADMIN", [*admin_values, grant])
    async with db.session() as session:
        service = IdentifierService(session, clock)
        created = await service.put(LI, Handle(f"{PREFIX}/NEW-1"), [HandleValue(1, "URL", b"x")])
        assert created.created
        # The new handle's own HS_ADMIN names LI, who created it.
        assert any(v.admin == AdminRef(LI.handle, 300, _ALL) for v in created.values)
        assert PREFIX in [p.prefix for p in await service.prefixes_of(LI)]
        handles, _total = await service.list_handles(LI, PREFIX, limit=10, offset=0)
        assert f"{PREFIX}/NEW-1" in handles
        with pytest.raises(PermissionDenied):
            await service.put(WANG, Handle(f"{PREFIX}/NEW-2"), [HandleValue(1, "URL", b"x")])


_ALL = AdminPermission(0x0FFF)


async def _values(db: Database, clock: FrozenClock, handle: str) -> list[HandleValue]:
    async with db.session() as session:
        return await IdentifierService(session, clock).values(Handle(handle))
