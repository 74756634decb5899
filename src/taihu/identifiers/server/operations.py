"""What each admin opcode does, in the registration service's terms (after authentication)."""

from __future__ import annotations

from taihu.identifiers.handle import Handle, HandleValueError, normalize_prefix
from taihu.identifiers.registration import HandleAdmin, IdentifierService
from taihu.identifiers.wire import (
    Body,
    Empty,
    ErrorBody,
    HandleListBody,
    HandleRequest,
    IndexesRequest,
    Message,
    OpCode,
    OpFlag,
    ResponseCode,
    ValuesRequest,
)

__all__ = ["ADMIN_OPCODES", "LIST_LIMIT", "apply_admin", "located_prefix"]

ADMIN_OPCODES = frozenset(
    {
        OpCode.CREATE_HANDLE,
        OpCode.DELETE_HANDLE,
        OpCode.ADD_VALUE,
        OpCode.REMOVE_VALUE,
        OpCode.MODIFY_VALUE,
        OpCode.LIST_HANDLES,
        OpCode.HOME_NA,
        OpCode.UNHOME_NA,
    }
)
LIST_LIMIT = 100_000


def located_prefix(request: Message) -> str | None:
    """The prefix whose server must answer ``request``; ``None`` for a malformed handle.

    LIST_HANDLES names its prefix as ``0.NA/PREFIX``; every other request names a handle.
    """
    text = getattr(request.body, "handle", "")
    try:
        handle = Handle(text)
    except HandleValueError:
        return None
    if request.header.opcode is OpCode.LIST_HANDLES and handle.prefix == "0.NA":
        return normalize_prefix(handle.suffix)
    return handle.prefix


async def apply_admin(  # noqa: PLR0911 - one return per opcode
    service: IdentifierService, caller: HandleAdmin, request: Message
) -> tuple[ResponseCode, Body, str | None]:
    """Run one admin operation in the service's unit of work; the handle key it changed."""
    opcode, body = request.header.opcode, request.body
    if isinstance(body, HandleRequest) and opcode in (
        OpCode.LIST_HANDLES,
        OpCode.HOME_NA,
        OpCode.UNHOME_NA,
    ):
        named = body.handle.split("/", 1)[1] if body.handle.upper().startswith("0.NA/") else ""
        if opcode is OpCode.LIST_HANDLES:
            handles, _total = await service.list_handles(caller, named, limit=LIST_LIMIT, offset=0)
            return ResponseCode.SUCCESS, HandleListBody(tuple(handles)), None
        await service.home_prefix(caller, named, homed=opcode is OpCode.HOME_NA)
        return ResponseCode.SUCCESS, Empty(), None
    handle = Handle(getattr(body, "handle", ""))
    if isinstance(body, ValuesRequest):
        values = list(body.values)
        if opcode is OpCode.CREATE_HANDLE:
            await service.put(
                caller, handle, values, overwrite=bool(request.header.flags & OpFlag.OVRW)
            )
            return ResponseCode.SUCCESS, Empty(), handle.key
        present = {v.index for v in await service.values(handle)}
        wanted = [v.index for v in values]
        if opcode is OpCode.ADD_VALUE and present & set(wanted):
            taken = tuple(sorted(present & set(wanted)))
            text = f"value index {taken[0]} exists already"
            return ResponseCode.VALUE_ALREADY_EXIST, ErrorBody(text, taken), None
        if opcode is OpCode.MODIFY_VALUE and set(wanted) - present:
            missing = tuple(sorted(set(wanted) - present))
            return (
                ResponseCode.VALUE_NOT_FOUND,
                ErrorBody(f"no value at index {missing[0]}", missing),
                None,
            )
        await service.put(caller, handle, values, indexes=wanted)
        return ResponseCode.SUCCESS, Empty(), handle.key
    if isinstance(body, IndexesRequest):
        await service.delete(caller, handle, list(body.indexes))
        return ResponseCode.SUCCESS, Empty(), handle.key
    await service.delete(caller, handle)
    return ResponseCode.SUCCESS, Empty(), handle.key
