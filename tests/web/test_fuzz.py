"""Schemathesis over every operation of ``/openapi.json``, as an admin and as an enterprise user.

Run by ``make fuzz`` (and so by ``make ci``); ``make test`` leaves it out (marker ``fuzz``). The
application runs in-process on a real database of its own, seeded with an enterprise, a device,
identifier prefixes and a template so that generated requests reach real code paths. Every
operation gets a bounded, derandomized number of examples, so a run is repeatable and its time
known. Checks: no 5xx, documented status codes, response bodies, content types and headers, and
405 answers that carry an ``Allow`` header with the methods the path really has.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.case import Case
from schemathesis.python.asgi import shutdown_lifespans
from sqlalchemy.engine import make_url

from taihu.accounts import Principal, Role
from taihu.core import Database, SystemClock
from taihu.devices import DeviceService
from taihu.identifiers import IdentifierService
from taihu.identifiers.catalog import TemplateService
from taihu.settings import DatabaseSettings, SecuritySettings, Settings
from taihu.web import create_app
from tests.conftest import (
    CODE_A,
    POSTGRES_URL,
    TEST_SECRET,
    World,
    _migrate,
    _postgres_database,
)

pytestmark = pytest.mark.fuzz

# Examples per operation and user: ~85 operations x 2 users x 25 stay within a few minutes.
EXAMPLES = 25
SEED = 15


async def _seed(settings: Settings) -> None:
    db = Database(settings.database.url)
    try:
        world = World(db, settings, SystemClock())
        enterprise = await world.enterprise("甲厂", CODE_A)
        await world.user("root", Role.ADMIN)
        await world.user("alice", Role.ENTERPRISE, enterprises=(enterprise.id,))
        system = Principal.system("fuzz")
        async with db.session() as session:
            devices = DeviceService(session, world.clock)
            await devices.create(system, enterprise.id, "meter")
            await devices.create(system, enterprise.id, "edge", gateway=True)
        async with db.session() as session:
            ids = IdentifierService(session, world.clock)
            await ids.create_prefix(system, "88.118", admin_password="node-secret-of-fuzz")
            await ids.create_prefix(
                system, "88.118.8", enterprise_id=enterprise.id, admin_password="secret-of-fuzz"
            )
        async with db.session() as session:
            await TemplateService(session, world.clock).install_builtins(system, "88.118")
    finally:
        await db.dispose()


async def _bearer(settings: Settings, username: str) -> dict[str, str]:
    db = Database(settings.database.url)
    try:
        token = await World(db, settings, SystemClock()).token(username)
    finally:
        await db.dispose()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def fuzzed(migrated_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The application on a seeded database of its own, served as `taihu serve` would."""
    with contextlib.ExitStack() as stack:
        if POSTGRES_URL:  # a database apart: other tests empty the suite's between tests
            url = stack.enter_context(_postgres_database())
            asyncio.run(_migrate(url))
        else:
            target = tmp_path_factory.mktemp("fuzz") / "taihu.sqlite3"
            shutil.copyfile(Path(make_url(migrated_url).database or ""), target)
            url = f"sqlite+aiosqlite:///{target}"
        app_settings = Settings(
            env="test",
            data_dir=tmp_path_factory.mktemp("fuzz-data"),
            database=DatabaseSettings(url=url),
            security=SecuritySettings(secret_key=TEST_SECRET),
        )
        asyncio.run(_seed(app_settings))
        yield create_app(app_settings)
        # Schemathesis started the application's lifespan on its own event loop and keeps it
        # until the process ends: stop it now, so the database is closed before it is dropped.
        shutdown_lifespans()


@pytest.fixture
def admin(fuzzed: FastAPI) -> dict[str, str]:
    """A fresh token of the admin for each operation: the fuzzer may revoke the last one."""
    return asyncio.run(_bearer(fuzzed.state.runtime.settings, "root"))


@pytest.fixture
def member(fuzzed: FastAPI) -> dict[str, str]:
    """A fresh token of a user of the seeded enterprise for each operation."""
    return asyncio.run(_bearer(fuzzed.state.runtime.settings, "alice"))


def _schema_only_app() -> FastAPI:
    """An application built only for its OpenAPI document: it is never called."""
    placeholder = Settings(
        env="test",
        database=DatabaseSettings(url="sqlite+aiosqlite:///:memory:"),
        security=SecuritySettings(secret_key=TEST_SECRET),
    )
    return create_app(placeholder)


_CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": EXAMPLES, "deterministic": True},
        "checks": {
            # Pydantic's lax mode takes `false` for a number and `0.5` for a timestamp: requests
            # the schema forbids but the server reads sensibly. Not what this fuzzer is for.
            "negative_data_rejection": {"enabled": False},
            # A request the schema allows may still break a domain rule (a handle without a
            # prefix, a page past the end): 400 is a correct answer to it, 422 is not.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "429"]
            },
        },
    }
)
# Loaded at collection, so every operation is a test of its own; the calls go to `fuzzed`.
# (Schemathesis's lazy `from_fixture` loader reads `request.node._nodeid`, gone in pytest 9.2.)
_APP = _schema_only_app()
schema = schemathesis.openapi.from_dict(_APP.openapi(), config=_CONFIG)
schema.app = _APP

_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,  # nothing kept between runs: the seed alone decides the examples
    # Slow operations and function-scoped fixtures (a fresh token per operation) are expected.
    suppress_health_check=list(HealthCheck),
)


def _call_and_validate(case: Case, app: FastAPI, headers: dict[str, str]) -> None:
    response = case.call(headers=headers, app=app)
    case.validate_response(response, headers=headers)


@schema.parametrize()
@_SETTINGS
def test_as_admin(case: Case, fuzzed: FastAPI, admin: dict[str, str]) -> None:
    _call_and_validate(case, fuzzed, admin)


@schema.parametrize()
@_SETTINGS
def test_as_enterprise_user(case: Case, fuzzed: FastAPI, member: dict[str, str]) -> None:
    _call_and_validate(case, fuzzed, member)
