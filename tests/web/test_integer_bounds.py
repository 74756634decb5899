"""Every integer an API takes is bounded in the schema, and values past the bounds get a 4xx.

SQLite and PostgreSQL hold 64-bit integers; before the bounds, an id of 2^63 reached the driver
and came back as a 500 with a traceback. The operations are found by walking ``/openapi.json``,
so a route added later without bounds fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from taihu.accounts import Role
from taihu.core import MAX_INT
from tests.conftest import CODE_A, World
from tests.web.test_console import sign_in

TOO_BIG = 2**63
_METHODS = ("get", "post", "put", "patch", "delete")


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref:
        return _resolve(schema, schema["components"]["schemas"][ref.rsplit("/", 1)[1]])
    return node


def _integers(
    schema: dict[str, Any], node: Any, where: str, seen: frozenset[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every integer schema reachable from ``node`` (following references), with its place."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _integers(schema, item, f"{where}[{i}]", seen)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref")
    if ref:
        if ref not in seen:
            yield from _integers(schema, _resolve(schema, node), where, seen | {ref})
        return
    if node.get("type") == "integer":
        yield where, node
    for key, value in node.items():
        if key not in ("example", "examples", "default"):
            yield from _integers(schema, value, f"{where}.{key}", seen)


def _operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in _METHODS:
                yield path, method, operation


def _body_schema(schema: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    return content["schema"] if content else None


async def test_every_integer_the_apis_take_has_bounds(app: FastAPI) -> None:
    schema = app.openapi()
    unbounded = []
    for path, method, operation in _operations(schema):
        inputs = [(f"{p['in']} {p['name']}", p["schema"]) for p in operation.get("parameters", [])]
        body = _body_schema(schema, operation)
        if body is not None:
            inputs.append(("body", body))
        for name, node in inputs:
            for where, integer in _integers(schema, node, name, frozenset()):
                if "minimum" not in integer and "exclusiveMinimum" not in integer:
                    unbounded.append(f"{method.upper()} {path} {where}: no minimum")
                if "maximum" not in integer or integer["maximum"] > MAX_INT:
                    unbounded.append(f"{method.upper()} {path} {where}: maximum {integer}")
    assert not unbounded, "\n".join(unbounded)


def _value(schema: dict[str, Any], node: dict[str, Any]) -> Any:
    """A plausible value for a required parameter that is not the integer under test."""
    node = _resolve(schema, node)
    for option in node.get("anyOf", ()):
        if option.get("type") != "null":
            return _value(schema, option)
    if "default" in node:
        return node["default"]
    if node.get("type") == "integer":
        return max(1, int(node.get("minimum", 1)))
    if node.get("format") == "date":
        return "2026-02-10"
    return "x"


def _example(schema: dict[str, Any], operation: dict[str, Any]) -> Any:
    body = _body_schema(schema, operation)
    if body is None:
        return None
    examples = _resolve(schema, body).get("examples") or [{}]
    return examples[0]


def _has_integer(schema: dict[str, Any], node: dict[str, Any]) -> bool:
    return any(True for _ in _integers(schema, node, "", frozenset()))


def _url(
    schema: dict[str, Any], path: str, parameters: list[dict[str, Any]], chosen: dict[str, Any]
) -> str:
    """The path filled in, with the chosen parameters and every other required one."""
    query = {}
    for parameter in parameters:
        name = parameter["name"]
        value = chosen.get(name)
        if value is None and (parameter["in"] == "path" or parameter.get("required")):
            value = _value(schema, parameter["schema"])
        if value is None:
            continue
        if parameter["in"] == "path":
            path = path.replace("{" + name + "}", str(value))
        elif parameter["in"] == "query":
            query[name] = str(value)
    return path + ("?" + str(httpx.QueryParams(query)) if query else "")


def _cases(schema: dict[str, Any]) -> Iterator[tuple[str, str, Any, str, int]]:
    """(method, url, json body, what was set, value) for each integer input, past and at its max."""
    for path, method, operation in _operations(schema):
        parameters = operation.get("parameters", [])
        example = _example(schema, operation)
        for target in parameters:
            if _has_integer(schema, target["schema"]):
                for value in (TOO_BIG, _upper(schema, target["schema"])):
                    url = _url(schema, path, parameters, {target["name"]: value})
                    yield method, url, example, f"{target['in']} {target['name']}", value
        if not isinstance(example, dict):
            continue
        body = _resolve(schema, _body_schema(schema, operation) or {})
        for key in example:
            field = body.get("properties", {}).get(key, {})
            if _has_integer(schema, field):
                for value in (TOO_BIG, _upper(schema, field)):
                    url = _url(schema, path, parameters, {})
                    yield method, url, {**example, key: value}, f"body {key}", value


def _upper(schema: dict[str, Any], node: dict[str, Any]) -> int:
    """The largest value the schema lets through (the edge where overflows would show)."""
    integers = _integers(schema, node, "", frozenset())
    maxima = [int(n["maximum"]) for _, n in integers if "maximum" in n]
    return min(maxima) if maxima else TOO_BIG


@pytest.fixture
async def admin(world: World) -> dict[str, str]:
    """An admin's bearer header, with one enterprise in the registry."""
    await world.enterprise("甲", CODE_A)
    return await world.bearer("root", Role.ADMIN)


async def test_integers_past_the_bounds_get_4xx_and_the_largest_accepted_no_5xx(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    cases = list(_cases(app.openapi()))
    assert len(cases) > 60  # ids in paths, queries and bodies of many operations
    failures = []
    for method, url, body, what, value in cases:
        response = await client.request(method.upper(), url, json=body, headers=admin)
        refused = value == TOO_BIG
        if response.status_code >= 500 or (refused and response.status_code not in (400, 404, 422)):
            failures.append(f"{method.upper()} {url} ({what}={value}): {response.status_code}")
    assert not failures, "\n".join(failures)


async def test_a_device_id_of_2_to_the_63_is_a_422(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    response = await client.get(f"/api/devices/{TOO_BIG}", headers=admin)
    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"


@pytest.mark.parametrize(
    "query",
    [
        {"prefix": "88.118.8", "page": str(TOO_BIG)},
        {"prefix": "88.118.8", "page": "²"},
        {"prefix": "88.118.8", "pageSize": "²"},
    ],
)
async def test_handle_listing_pages_past_the_bounds_are_refused(
    client: httpx.AsyncClient, admin: dict[str, str], query: dict[str, str]
) -> None:
    response = await client.get("/api/handles", params=query, headers=admin)
    assert response.status_code == 400


@pytest.mark.parametrize("index", [str(TOO_BIG), "²"])
async def test_handle_indexes_past_the_bounds_are_refused(
    client: httpx.AsyncClient, admin: dict[str, str], index: str
) -> None:
    response = await client.get("/api/handles/88.118.8/X-1", params={"index": index}, headers=admin)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        f"/audit?page={TOO_BIG}",
        f"/devices?page={TOO_BIG}",
        f"/devices/{TOO_BIG}",
        f"/monitor/enterprises/{TOO_BIG}",
        f"/enterprises/{TOO_BIG}",
    ],
)
async def test_console_pages_refuse_integers_past_the_bounds(
    client: httpx.AsyncClient, world: World, path: str
) -> None:
    await world.user("root", Role.ADMIN)
    await sign_in(client, "root")
    response = await client.get(path)
    assert response.status_code in (404, 422)
