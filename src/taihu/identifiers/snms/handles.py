"""SNMS identifier routes: token, detail, single and batch writes (the API enterprise systems call).

Answers are ``{"status": 1, "message": "success", "data": …}``; failures carry status ``-1``
(busy: retry later) or ``-2`` (bad parameters, unknown identifier, refused), and ``code`` 701
when the identifier belongs to another enterprise. Authentication is a bearer token from
``POST /identity/token``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError, OperationalError

from taihu.accounts import AccountService, client_address
from taihu.core import (
    N_,
    InvalidInput,
    Message,
    NotFound,
    PermissionDenied,
    TaihuError,
    get_runtime,
)
from taihu.identifiers.handle import TEMPLATE_TYPE, Handle, HandleValue
from taihu.identifiers.records import value_to_json
from taihu.identifiers.registration import (
    MAX_BATCH,
    BatchItem,
    BatchService,
    identifier_service,
    parse_handle,
    seckeys_for,
)
from taihu.identifiers.resolution import resolver_of
from taihu.identifiers.snms.common import (
    DONE,
    ERRORS,
    MISSING,
    OK,
    fail,
    principal_of,
    read_body,
    snms_json,
)
from taihu.identifiers.snms.values import snms_values, template_indexes

__all__ = ["router", "snms_item"]

router = APIRouter(tags=["identifiers: SNMS"])


def _detail(handle: str, prefix: str, values: list[HandleValue]) -> dict[str, Any]:
    template = next((v.text for v in values if v.type == TEMPLATE_TYPE), None)
    shown = []
    for value in values:
        raw = value_to_json(value)
        shown.append(
            {"index": value.index, "type": value.type, "data": raw["data"],
             "auth": value.permission_bits}
        )  # fmt: skip
    return {"prefix": prefix, "handle": handle, "templateVersion": template, "value": shown}


@router.post(
    "/identity/token",
    summary="SNMS: exchange user name and password for a token",
    description='Body `{"username", "password"}`; answers `{"status": 1, "data": {"token"}}`. '
    "The token is a platform API token valid for one day.",
    responses={
        **ERRORS,
        200: {"content": {"application/json": {"example": {**OK, "data": {"token": "th_…"}}}}},
    },
)
async def snms_token(request: Request) -> Response:
    runtime = get_runtime(request)
    try:
        body = await read_body(request)
        if not isinstance(body, dict) or not all(
            isinstance(body.get(k), str) and body.get(k) for k in ("username", "password")
        ):
            raise InvalidInput(N_("username and password are required"), code="bad_params")
        request.state.sign_in = body["username"]  # a refusal is audited (web/security_audit.py)
        async with runtime.db.session() as session:
            accounts = AccountService(session, runtime.settings.security, runtime.clock)
            user = await accounts.login(body["username"], body["password"], client_address(request))
            principal = await accounts.principal_for(user)
            issued = await accounts.create_token(principal, user, name="snms", expires_days=1)
    except TaihuError as exc:
        request.state.refusal = exc.code
        return fail(exc)
    return snms_json({**OK, "data": {"token": issued.plain}})


@router.post(
    "/identity/token/v1",
    summary="SNMS: the hashed-password sign-in (not offered: answers status -2)",
    description="SNMS's second sign-in sends `sha256(sha256(password) + yyyy-MM-dd)`: the server "
    "must hold `sha256(password)`, an unsalted fast hash that is as good as the password for "
    "this call. Taihu keeps only salted slow password hashes, so it cannot check this form and "
    "answers status -2 (HTTP 400) saying so: use `POST /identity/token` over TLS.",
    responses={**ERRORS},
)
async def snms_token_hashed() -> Response:
    return fail(
        InvalidInput(
            N_("the hashed-password sign-in is not offered: this node keeps only salted password "
               "hashes; send the password to /identity/token over TLS"),
            code="hashed_sign_in_not_offered",
        )
    )  # fmt: skip


@router.get(
    "/identityv2/data/detail",
    summary="SNMS: an identifier's values",
    description="`?handle=PREFIX/SUFFIX`; every value with its template version. Any "
    "authenticated user may read public values; members of the owner enterprise see all.",
    responses={
        **ERRORS,
        200: {
            "content": {
                "application/json": {
                    "example": {
                        **OK,
                        "data": {
                            "prefix": "88.118.8",
                            "handle": "88.118.8/ELV-0001",
                            "templateVersion": "elevator-1.0",
                            "value": [
                                {
                                    "index": 2000,
                                    "type": "model",
                                    "data": {"format": "string", "value": "HL-2000"},
                                    "auth": "1110",
                                }
                            ],
                        },
                    }
                }
            }
        },
    },
)
async def snms_detail(request: Request) -> Response:
    runtime = get_runtime(request)
    try:
        principal = await principal_of(request, runtime)
        text = request.query_params.get("handle")
        if not text:
            raise InvalidInput(MISSING, code="bad_params", name="handle")
        handle = parse_handle(text)
        async with runtime.db.session() as session:
            service = identifier_service(session, runtime)
            values = await service.values(handle)
            if not await service.is_admin_of(principal, handle):
                values = [v for v in values if v.public_read]
    except TaihuError as exc:
        return fail(exc)
    return snms_json({**OK, "data": _detail(handle.text, handle.prefix, values)})


async def _single(request: Request, *, update: bool) -> Response:
    runtime = get_runtime(request)
    try:
        principal = await principal_of(request, runtime)
        raw = await read_body(request)
        async with runtime.db.session() as session:
            indexes = await template_indexes(identifier_service(session, runtime), [raw])
            handle, values = snms_values(raw, indexes)
            results = await BatchService(
                session, runtime.clock, seckeys=seckeys_for(runtime.settings)
            ).write(principal, [BatchItem(handle, values)], update=update)
        result = results[0]
        if not result.ok:
            _raise_item(result.code, result.message, handle)
    except (TaihuError, OperationalError, IntegrityError) as exc:
        return fail(exc)
    resolver_of(request).invalidate(Handle(handle).key)
    return snms_json(DONE)


def _raise_item(code: int, reason: Message, handle: str) -> None:
    said = N_("{handle}: {reason}")
    if code == 701:
        raise PermissionDenied(said, code="insufficient_permissions", handle=handle, reason=reason)
    if code == 100:
        raise NotFound(said, code="handle_not_found", handle=handle, reason=reason)
    raise InvalidInput(said, code="invalid_value", handle=handle, reason=reason)


_SINGLE_EXAMPLE = {"content": {"application/json": {"example": DONE}}}
_SINGLE_DOC = (
    ' Body `{"handle", "templateVersion", "value": [{"index", "type", "data": {"format": '
    '"string", "value"}}]}`; values are checked against the template version.'
)


@router.post(
    "/identityv2/data",
    summary="SNMS: register an identifier",
    description="Creates an identifier; re-sending the same one succeeds." + _SINGLE_DOC,
    responses={**ERRORS, 200: _SINGLE_EXAMPLE},
)
async def snms_create(request: Request) -> Response:
    return await _single(request, update=False)


@router.put(
    "/identityv2/data",
    summary="SNMS: replace an identifier's values",
    description="Replaces every value of an existing identifier." + _SINGLE_DOC,
    responses={**ERRORS, 200: _SINGLE_EXAMPLE},
)
async def snms_update(request: Request) -> Response:
    return await _single(request, update=True)


@router.delete(
    "/identityv2/data",
    summary="SNMS: delete an identifier",
    description='`?handle=` or body `{"handle"}`.',
    responses={**ERRORS, 200: _SINGLE_EXAMPLE},
)
async def snms_delete(request: Request) -> Response:
    runtime = get_runtime(request)
    try:
        principal = await principal_of(request, runtime)
        handle = request.query_params.get("handle")
        if handle is None:
            body = await read_body(request)
            handle = body.get("handle") if isinstance(body, dict) else None
        if not isinstance(handle, str):
            raise InvalidInput(MISSING, code="bad_params", name="handle")
        async with runtime.db.session() as session:
            result = (await BatchService(session, runtime.clock).delete(principal, [handle]))[0]
        if not result.ok:
            _raise_item(result.code, result.message, handle)
    except (TaihuError, OperationalError, IntegrityError) as exc:
        return fail(exc)
    resolver_of(request).invalidate(Handle(handle).key)
    return snms_json(DONE)


async def _batch_items(request: Request) -> list[Any]:
    body = await read_body(request)
    # Documented: a JSON list (v5 names batchDelete's list "handles"); {"data": [...]} also taken.
    items = (
        next((body[k] for k in ("data", "items", "handles") if k in body), None)
        if isinstance(body, dict)
        else body
    )
    if not isinstance(items, list):
        raise InvalidInput(N_('the body must be a list or {"data": [...]}'), code="bad_params")
    if len(items) > MAX_BATCH:
        raise InvalidInput(
            N_("at most {most} identifiers per call"), code="batch_too_big", most=MAX_BATCH
        )
    return items


async def _batch(request: Request, *, update: bool) -> Response:
    runtime = get_runtime(request)
    try:
        principal = await principal_of(request, runtime)
        raws = await _batch_items(request)
        items: list[BatchItem] = []
        early: dict[int, dict[str, Any]] = {}
        async with runtime.db.session() as session:
            indexes = await template_indexes(identifier_service(session, runtime), raws)
            for n, raw in enumerate(raws):
                try:
                    handle, values = snms_values(raw, indexes)
                    items.append(BatchItem(handle, values))
                except InvalidInput as exc:
                    name = raw.get("handle") if isinstance(raw, dict) else None
                    early[n] = snms_item(name, 202, exc.message)
            results = await BatchService(
                session, runtime.clock, seckeys=seckeys_for(runtime.settings)
            ).write(
                principal, items, update=update
            ) if items else []  # fmt: skip
    except (TaihuError, OperationalError, IntegrityError) as exc:
        return fail(exc)
    return _batch_answer(request, results, early, len(raws))


# Per-item words of the documented batch answers (handle-operate.md): clients match on them, so
# they are protocol values, never translated. Taihu's finer outcome is kept in ``reason``.
_ITEM_WORDS = {1: "success", 2: "标识已存在", 101: "标识已存在", 100: "标识不存在"}


def snms_item(handle: str | None, code: int, msg: str) -> dict[str, Any]:
    """One batch item as documented: ``{"handle", "code": 1 | -2, "msg"}``, plus ``reason``."""
    if code == 1:
        return {"handle": handle, "code": 1, "msg": "success"}
    return {"handle": handle, "code": -2, "msg": _ITEM_WORDS.get(code, msg), "reason": code}


def _batch_answer(
    request: Request, results: list[Any], early: dict[int, dict[str, Any]], total: int
) -> Response:
    resolver = resolver_of(request)
    answered: list[dict[str, Any]] = []
    it = iter(results)
    for n in range(total):
        if n in early:
            answered.append(early[n])
            continue
        result = next(it)
        if result.ok:
            resolver.invalidate(result.key)
        code = int(result.code)
        # An item done says "success" whatever its message: not rendered 2,000 times a batch.
        answered.append(snms_item(result.handle, code, "" if code == 1 else result.msg))
    response = snms_json({**OK, "data": answered})
    # A kept-alive connection stays with the worker that accepted it, and a worker's event loop
    # accepts every connection waiting when it wakes: a client's few pooled connections often all
    # land on one worker, which then does every batch while the other idles. Closed after each
    # batch (a handshake against seconds of work), the next one goes to whichever worker is free.
    response.headers["connection"] = "close"
    return response


_BATCH_EXAMPLE = {
    "content": {
        "application/json": {
            "example": {
                **OK,
                "data": [
                    {"handle": "88.118.8/ELV-1", "code": 1, "msg": "success"},
                    {"handle": "88.118.8/ELV-2", "code": -2, "msg": "标识已存在", "reason": 2},
                    {
                        "handle": "88.118.8/ELV-3",
                        "code": -2,
                        "msg": "88.118.8/ELV-3: item 'model' is required",
                        "reason": 202,
                    },
                ],
            }
        }
    }
}
_BATCH_DOC = (
    "Up to 2,000 identifiers (a JSON list), each as for the single call. `data` lists one "
    '`{"handle", "code", "msg"}` per item in order: code 1 and msg `success` when done, code -2 '
    "otherwise with msg `标识已存在` (exists), `标识不存在` (not found) or the reason in words, "
    "and Taihu's finer `reason`: 2 exists with the same values (a re-sent batch: it is "
    "registered), 100 not found, 101 exists with other values, 102 bad handle, 202 bad value, "
    "301 prefix not served here, 701 another enterprise's prefix."
)


@router.post(
    "/identityv2/data/batchCreate",
    summary="SNMS: register up to 2,000 identifiers",
    description=_BATCH_DOC,
    responses={**ERRORS, 200: _BATCH_EXAMPLE},
)
async def snms_batch_create(request: Request) -> Response:
    return await _batch(request, update=False)


@router.put(
    "/identityv2/data/batchUpdate",
    summary="SNMS: replace the values of up to 2,000 identifiers",
    description=_BATCH_DOC,
    responses={**ERRORS, 200: _BATCH_EXAMPLE},
)
@router.post(
    "/identityv2/data/batchUpdate",
    summary="SNMS: replace the values of up to 2,000 identifiers (POST, as PUT)",
    description="The same call as PUT, kept for clients of SNMS versions that post it. "
    + _BATCH_DOC,
    responses={**ERRORS, 200: _BATCH_EXAMPLE},
)
async def snms_batch_update(request: Request) -> Response:
    return await _batch(request, update=True)


@router.delete(
    "/identityv2/data/batchDelete",
    summary="SNMS: delete up to 2,000 identifiers",
    description='A list of handles (strings or `{"handle"}` objects). ' + _BATCH_DOC,
    responses={**ERRORS, 200: _BATCH_EXAMPLE},
)
@router.post(
    "/identityv2/data/batchDelete",
    summary="SNMS: delete up to 2,000 identifiers (POST, as DELETE)",
    description="The same call as DELETE, for HTTP clients that send no body with DELETE. "
    + _BATCH_DOC,
    responses={**ERRORS, 200: _BATCH_EXAMPLE},
)
async def snms_batch_delete(request: Request) -> Response:
    runtime = get_runtime(request)
    try:
        principal = await principal_of(request, runtime)
        raws = await _batch_items(request)
        handles = [r.get("handle", "") if isinstance(r, dict) else str(r) for r in raws]
        async with runtime.db.session() as session:
            results = await BatchService(session, runtime.clock).delete(principal, handles)
    except (TaihuError, OperationalError, IntegrityError) as exc:
        return fail(exc)
    return _batch_answer(request, results, {}, len(raws))
