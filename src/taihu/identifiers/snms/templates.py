"""SNMS template routes: read, create, replace and delete a prefix's templates (v3)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from taihu.core import (
    InvalidInput,
    TaihuError,
    get_runtime,
)
from taihu.identifiers.catalog import TemplateService, parse_spec, template_json
from taihu.identifiers.snms.common import (
    ERRORS,
    OK,
    fail,
    principal_of,
    read_body,
    snms_json,
)

__all__ = ["router"]

router = APIRouter(tags=["identifiers: SNMS"])


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
                            "required": True,
                            "metadata": {"type": "string", "minLength": 1, "maxLength": 64},
                        }
                    ],
                },
            }
        }
    }
}


@router.get(
    "/snms/api/v3/template",
    summary="SNMS: a template version, or a prefix's templates",
    description="`?prefix=&version=` returns one template; `?prefix=` alone lists them.",
    responses={**ERRORS, 200: _TEMPLATE_EXAMPLE},
)
async def snms_template_get(request: Request) -> Response:
    runtime = get_runtime(request)
    try:
        await principal_of(request, runtime)
        prefix = request.query_params.get("prefix", "")
        version = request.query_params.get("version")
        async with runtime.db.session() as session:
            templates = TemplateService(session, runtime.clock)
            if version:
                data: Any = template_json(await templates.get(prefix, version))
            else:
                data = [template_json(t) for t in await templates.all(prefix or None)]
    except TaihuError as exc:
        return fail(exc)
    return snms_json({**OK, "data": data})


async def _template_write(request: Request, *, replace: bool) -> Response:
    runtime = get_runtime(request)
    try:
        principal = await principal_of(request, runtime)
        body = await read_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("prefix"), str):
            raise InvalidInput("a template needs a prefix", code="bad_params")
        spec = parse_spec(body)
        async with runtime.db.session() as session:
            row = await TemplateService(session, runtime.clock).save(
                principal, body["prefix"], spec, replace=replace
            )
            data = template_json(row)
    except TaihuError as exc:
        return fail(exc)
    return snms_json({**OK, "data": data})


@router.post(
    "/snms/api/v3/template",
    summary="SNMS: publish a template version",
    description="Body as returned by GET (with `prefix`); GB/T 4754 class from "
    "`industrySubclass` (or `industryClass`). Admins of the prefix only.",
    responses={**ERRORS, 200: _TEMPLATE_EXAMPLE},
)
async def snms_template_create(request: Request) -> Response:
    return await _template_write(request, replace=False)


@router.put(
    "/snms/api/v3/template",
    summary="SNMS: change a template version no identifier uses yet",
    description="As POST; refused (409) once identifiers use the version: publish a new one.",
    responses={**ERRORS, 200: _TEMPLATE_EXAMPLE},
)
async def snms_template_update(request: Request) -> Response:
    return await _template_write(request, replace=True)


@router.delete(
    "/snms/api/v3/template",
    summary="SNMS: delete a template version no identifier uses",
    description="`?prefix=&version=`.",
    responses={**ERRORS, 200: {"content": {"application/json": {"example": {**OK}}}}},
)
async def snms_template_delete(request: Request) -> Response:
    runtime = get_runtime(request)
    try:
        principal = await principal_of(request, runtime)
        prefix = request.query_params.get("prefix", "")
        version = request.query_params.get("version", "")
        async with runtime.db.session() as session:
            await TemplateService(session, runtime.clock).delete(principal, prefix, version)
    except TaihuError as exc:
        return fail(exc)
    return snms_json({**OK, "data": None})
