"""The OpenAPI document: every operation lists the error answers it can give, in one place.

Routes document their success bodies and the errors particular to them; the errors every route
shares (a malformed body, missing credentials, an unknown id, a conflicting write, a body over
the size limit, a failed validation) are added here, with the platform's error body as their
schema, so ``/openapi.json`` says what the server really answers (the API fuzzer checks it).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI

__all__ = ["ERROR_SCHEMA", "complete_errors", "install_openapi"]

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "description": "The body of every error answer of the platform's own API.",
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "A stable code, e.g. `not_found`"},
        "message": {"type": "string", "description": "What went wrong, for a person"},
        "details": {"type": "object", "description": "Particulars, e.g. validation errors"},
    },
    "examples": [{"error": "not_found", "message": "no enterprise 42"}],
}

_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_VALIDATION_REF = {"$ref": "#/components/schemas/HTTPValidationError"}

_DESCRIPTIONS = {
    "400": "The request is malformed (e.g. a body that is not JSON) or breaks a domain rule",
    "401": "Missing, wrong, expired or revoked credentials",
    "403": "The caller lacks the role or enterprise",
    "404": "A resource the request names does not exist (or is not the caller's to see)",
    "409": "The write conflicts with what is stored",
    "413": "The request body is over the size limit",
    "422": "A parameter or the body fails validation",
}

# Probes and metrics: no credentials, no parameters, no error of their own.
_OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# Protocols of other platforms (Handle.Net REST, the national SNMS API, ThingsBoard's device and
# REST APIs) answer errors in those platforms' own shapes; their codes are listed without a schema.
_FOREIGN_PREFIXES = ("/api/handles", "/hrls/", "/identity", "/snms/", "/api/v1/", "/api/plugins/")
_WRITES = frozenset({"post", "put", "patch", "delete"})
_ANONYMOUS = frozenset({("post", "/api/auth/token")})


def _codes(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses an operation can answer beyond its own."""
    if path in _OPS_PATHS:
        return []
    codes = ["400", "401", "422"]
    if (method, path) not in _ANONYMOUS:
        codes.append("403")
    if operation.get("parameters") or method in _WRITES:
        codes.append("404")
    if method in _WRITES:
        codes.append("409")
    if "requestBody" in operation:
        codes.append("413")
    return codes


def complete_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the shared error answers, with the error schema, to every operation of ``schema``."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    for path, operations in schema.get("paths", {}).items():
        foreign = path.startswith(_FOREIGN_PREFIXES)
        for method, operation in operations.items():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            for code in _codes(path, method, operation):
                responses.setdefault(code, {"description": _DESCRIPTIONS[code]})
            for code, response in responses.items():
                content = response.get("content", {}).get("application/json")
                # FastAPI's default 422 schema ({"detail": [...]}) is not what the handler answers.
                if content is not None and content.get("schema") == _VALIDATION_REF:
                    content["schema"] = _ERROR_REF
                if code.startswith("4") and not foreign:
                    content = response.setdefault("content", {}).setdefault("application/json", {})
                    content["schema"] = _ERROR_REF
            operation["responses"] = dict(sorted(responses.items()))
    for unused in ("HTTPValidationError", "ValidationError"):
        if not _referenced(schema, unused):
            components.pop(unused, None)
    return schema


def _referenced(schema: dict[str, Any], name: str) -> bool:
    return f'"#/components/schemas/{name}"' in json.dumps(schema["paths"])


def install_openapi(app: FastAPI) -> None:
    """Serve ``complete_errors`` of FastAPI's document as the application's ``/openapi.json``."""
    build = app.openapi  # FastAPI's, cached until routes change
    completed: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = build()
        if not completed or completed[0] is not schema:
            completed[:] = [complete_errors(schema)]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
