"""Admin groups: HS_ADMIN values that name an HS_VLIST, as the Handle System reads them.

An HS_ADMIN value names an admin as ``INDEX:HANDLE``. When the value at that index of that handle
is an HS_VLIST, the name stands for a group: every reference in the list is an admin with the
HS_ADMIN value's permissions, and a reference may be a list itself::

    88.118.8/ELV-1   100 HS_ADMIN  200:88.118.8/LIFT-TEAM  (add value, modify value, …)
    88.118.8/LIFT-TEAM  200 HS_VLIST  [300:88.118.8/ZHANG, 200:88.118.8/NIGHT-SHIFT]
    88.118.8/NIGHT-SHIFT 200 HS_VLIST  [300:88.118.8/LI]

so ``300:88.118.8/LI`` may modify ``88.118.8/ELV-1``. Lists nested deeper than ``MAX_DEPTH``
are not followed, and a list that contains itself (directly or through others) is read once.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from taihu.identifiers.handle import AdminPermission, AdminRef, Handle, HandleValueError
from taihu.identifiers.models import HandleRow
from taihu.identifiers.records import VLIST_TYPE, decode_vlist, load_record

__all__ = ["MAX_DEPTH", "in_admin_group"]

MAX_DEPTH = 4


async def in_admin_group(
    session: AsyncSession,
    admin: tuple[int, str],
    refs: Iterable[AdminRef],
    needed: AdminPermission,
) -> bool:
    """Whether ``admin`` (index, handle key) is in a group one of ``refs`` names with ``needed``."""
    seen: set[tuple[int, str]] = set()
    for ref in refs:
        if needed in ref.permissions and await _member(session, admin, ref.index, ref.handle,
                                                       0, seen):  # fmt: skip
            return True
    return False


async def _member(
    session: AsyncSession,
    admin: tuple[int, str],
    index: int,
    handle: str,
    depth: int,
    seen: set[tuple[int, str]],
) -> bool:
    key = _key(handle)
    if key is None or depth >= MAX_DEPTH or (index, key) in seen:
        return False
    seen.add((index, key))
    for member_index, member_handle in await _group(session, index, key):
        member_key = _key(member_handle)
        if member_key is None:
            continue
        if (member_index, member_key) == admin or await _member(
            session, admin, member_index, member_key, depth + 1, seen
        ):
            return True
    return False


def _key(handle: str) -> str | None:
    try:
        return Handle(handle).key
    except HandleValueError:
        return None


async def _group(session: AsyncSession, index: int, key: str) -> list[tuple[int, str]]:
    """The references of the HS_VLIST at ``index:key``; none when it is not a readable list."""
    record = await session.scalar(sa.select(HandleRow.record).where(HandleRow.key == key))
    if record is None:
        return []
    group = next(
        (v for v in load_record(record) if v.index == index and v.type == VLIST_TYPE), None
    )
    if group is None:
        return []
    try:
        return decode_vlist(group.data)
    except HandleValueError:
        return []
