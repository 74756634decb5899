"""SNMS template routes, v3 and v5: read, create, replace and delete a prefix's templates.

Items carry ``idIndex``, the index a value of that item is registered at: Taihu numbers a
template's items from 2000 in the order they are listed (1000, 1001 and 1999 are reserved).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from taihu.core import N_, InvalidInput, TaihuError, get_runtime
from taihu.identifiers.catalog import TemplateService, parse_spec, template_json
from taihu.identifiers.models import Template
from taihu.identifiers.snms.common import (
    DONE,
    ERRORS,
    FIRST_ITEM_INDEX,
    OK,
    fail,
    principal_of,
    read_body,
    snms_json,
)

__all__ = ["router", "snms_template"]

router = APIRouter(tags=["identifiers: SNMS"])

_PATHS = ("/snms/api/v3/template", "/snms/api/v5/template")


def snms_template(row: Template) -> dict[str, Any]:
    """A stored template as SNMS answers it, each item with its ``idIndex``."""
    data = template_json(row)
    data["items"] = [
        {**item, "idIndex": FIRST_ITEM_INDEX + n} for n, item in enumerate(data["items"])
    ]
    return data


def _check_indexes(body: dict[str, Any]) -> None:
    """Refuse an ``idIndex`` other than the one Taihu gives the item (2000 + its position)."""
    items = body.get("items")
    for n, item in enumerate(items if isinstance(items, list) else []):
        given = item.get("idIndex") if isinstance(item, dict) else None
        if given is None or str(given) == str(FIRST_ITEM_INDEX + n):
            continue
        raise InvalidInput(
            N_("item {position}: idIndex {given} must be {index}: items are numbered from 2000 "
               "in the order they are listed"),
            code="template_violation", position=n + 1, given=str(given),
            index=FIRST_ITEM_INDEX + n,
        )  # fmt: skip


_TEMPLATE_EXAMPLE = {
    "content": {
        "application/json": {
            "example": {
                **OK,
                "data": {
                    "id": 1,
                    "prefix": "88.118",
                    "version": "elevator-1.0",
                    "name": "电梯 Elevator",
                    "industryCategory": "C",
                    "industrySpecific": "34",
                    "industryTrade": "343",
                    "industrySubclass": "3435",
                    "type": 1,
                    "description": "电梯、自动扶梯及升降机制造",
                    "items": [
                        {
                            "name": "型号 Model",
                            "idType": "model",
                            "idIndex": 2000,
                            "required": True,
                            "metadata": {"type": "string", "minLength": 1, "maxLength": 64},
                        }
                    ],
                },
            }
        }
    }
}
_DONE_EXAMPLE = {"content": {"application/json": {"example": DONE}}}


async def snms_template_get(request: Request) -> Response:
    """GET: one template version, or a prefix's templates."""
    runtime = get_runtime(request)
    try:
        await principal_of(request, runtime)
        prefix = request.query_params.get("prefix", "")
        version = request.query_params.get("version")
        async with runtime.db.session() as session:
            templates = TemplateService(session, runtime.clock)
            if version:
                data: Any = snms_template(await templates.get(prefix, version))
            else:
                data = [snms_template(t) for t in await templates.all(prefix or None)]
    except TaihuError as exc:
        return fail(exc)
    return snms_json({**OK, "data": data})


async def _template_write(request: Request, *, replace: bool) -> Response:
    runtime = get_runtime(request)
    try:
        principal = await principal_of(request, runtime)
        body = await read_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("prefix"), str):
            raise InvalidInput(N_("a template needs a prefix"), code="bad_params")
        _check_indexes(body)
        spec = parse_spec(body)
        async with runtime.db.session() as session:
            await TemplateService(session, runtime.clock).save(
                principal, body["prefix"], spec, replace=replace
            )
    except TaihuError as exc:
        return fail(exc)
    return snms_json(DONE)


async def snms_template_create(request: Request) -> Response:
    """POST: publish a template version."""
    return await _template_write(request, replace=False)


async def snms_template_update(request: Request) -> Response:
    """PUT: change a template version no identifier uses yet."""
    return await _template_write(request, replace=True)


async def snms_template_delete(request: Request) -> Response:
    """DELETE: remove a template version no identifier uses."""
    runtime = get_runtime(request)
    try:
        principal = await principal_of(request, runtime)
        where: Any = dict(request.query_params)
        if "version" not in where and await request.body():
            where = await read_body(request)  # documented: {"prefix", "version"} in the body
        if not isinstance(where, dict) or not all(
            isinstance(where.get(k), str) and where[k] for k in ("prefix", "version")
        ):
            raise InvalidInput(N_("prefix and version are required"), code="bad_params")
        async with runtime.db.session() as session:
            await TemplateService(session, runtime.clock).delete(
                principal, where["prefix"], where["version"]
            )
    except TaihuError as exc:
        return fail(exc)
    return snms_json(DONE)


for _path in _PATHS:
    _v = _path.split("/")[3]
    router.add_api_route(
        _path, snms_template_get, methods=["GET"],
        summary=f"SNMS {_v}: a template version, or a prefix's templates",
        description="`?prefix=&version=` returns one template; `?prefix=` alone lists them. "
        "Each item carries `idIndex`, the index its values are registered at.",
        responses={**ERRORS, 200: _TEMPLATE_EXAMPLE},
    )  # fmt: skip
    router.add_api_route(
        _path, snms_template_create, methods=["POST"],
        summary=f"SNMS {_v}: publish a template version",
        description="Body as returned by GET (with `prefix`); GB/T 4754 class from "
        "`industrySubclass` (or `industryClass`); an item's `idIndex`, if sent, must be "
        "2000 + its position. Admins of the prefix only. Answers `data: true`.",
        responses={**ERRORS, 200: _DONE_EXAMPLE},
    )  # fmt: skip
    router.add_api_route(
        _path, snms_template_update, methods=["PUT"],
        summary=f"SNMS {_v}: change a template version no identifier uses yet",
        description="As POST; refused (409) once identifiers use the version: publish a new one.",
        responses={**ERRORS, 200: _DONE_EXAMPLE},
    )  # fmt: skip
    router.add_api_route(
        _path, snms_template_delete, methods=["DELETE"],
        summary=f"SNMS {_v}: delete a template version no identifier uses",
        description='Body `{"prefix", "version"}` (or the same as query parameters).',
        responses={**ERRORS, 200: _DONE_EXAMPLE},
    )  # fmt: skip
