"""Operational endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.exc import SQLAlchemyError

from taihu.core import RuntimeDep, schema_state
from taihu.core.metrics import metrics_text

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    summary="Liveness",
    description="200 while the process serves requests; checks nothing else.",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness",
    description="200 when the database answers and its schema is current, else 503 with why.",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {"status": "ready", "database": "ok", "schema": "0001"}
                }
            }
        },
        503: {
            "content": {
                "application/json": {
                    "example": {
                        "status": "not ready",
                        "database": "ok",
                        "schema": "outdated: at 0001, code needs 0002; run `taihu db upgrade`",
                    }
                }
            }
        },
    },
)
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    body: dict[str, Any] = {"status": "ready", "database": "ok"}
    try:
        await runtime.db.ping()
        state = await schema_state(runtime.db)
    except (SQLAlchemyError, OSError) as exc:
        body.update(status="not ready", database=f"unreachable: {type(exc).__name__}")
        return JSONResponse(body, status_code=503)
    if state.is_current:
        body["schema"] = state.current_label
        return JSONResponse(body)
    body.update(
        status="not ready",
        schema=f"outdated: {state.outdated_message}",
    )
    return JSONResponse(body, status_code=503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Text exposition format: this process's metrics, or with several workers the "
    "sum over the server's processes (supervisor and workers).",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"example": "taihu_http_requests_total{…} 12.0"}}}},
)
async def metrics() -> Response:
    return Response(metrics_text(), media_type=CONTENT_TYPE_LATEST)


_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Taihu API</title>
  <link rel="stylesheet" href="/static/vendor/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/static/vendor/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""


@router.get("/docs", include_in_schema=False, response_class=HTMLResponse)
async def api_docs() -> HTMLResponse:
    # Swagger UI from our own static files: the node may have no Internet, and the console's
    # CSP allows scripts from this origin only.
    return HTMLResponse(_DOCS_PAGE)


# A browser asks every origin for /favicon.ico (e.g. when it opens a QR label's SVG directly):
# a small mark instead of a 404 in its console.
_FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<rect width="16" height="16" rx="3" fill="#1f6feb"/>'
    '<path d="M4 4h8v2H9v6H7V6H4z" fill="#fff"/></svg>'
)


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    return Response(
        _FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"}
    )
