"""Shared fixtures: a real database per test (SQLite, or PostgreSQL when asked), the app, clients.

Set ``TAIHU_TEST_POSTGRES_URL`` to run the suite on PostgreSQL: the session creates its own
database there, migrates it, empties it before every test and drops it at the end. When that
server cannot be reached the run stops with an error; it never falls back to SQLite silently.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy.engine import make_url

from taihu.accounts import AccountService, Principal, Role, User
from taihu.core import Base, Database, FrozenClock, upgrade
from taihu.enterprises import Enterprise, EnterpriseService
from taihu.settings import DatabaseSettings, SecuritySettings, Settings
from taihu.web import create_app

POSTGRES_URL = os.environ.get("TAIHU_TEST_POSTGRES_URL", "")
TEST_SECRET = "test-secret-key-" + "x" * 32
START = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
PASSWORD = "correct-horse-battery"

# Hypothesis times each example (200 ms by default) and the generation of the first ones; CI runs
# the suite twice at once on two cores, where a correct test is sometimes descheduled that long.
hypothesis_settings.register_profile(
    "taihu", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("taihu")


def pytest_report_header() -> str:
    """Say which database the suite runs on."""
    return f"taihu database: {'PostgreSQL ' + POSTGRES_URL if POSTGRES_URL else 'SQLite'}"


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def migrated_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database URL, migrated to head: a PostgreSQL database of its own, or a SQLite template."""
    if not POSTGRES_URL:
        template = tmp_path_factory.mktemp("template") / "taihu.sqlite3"
        url = f"sqlite+aiosqlite:///{template}"
        asyncio.run(_migrate(url))
        yield url
        return
    try:
        with _postgres_database() as url:
            asyncio.run(_migrate(url))
            yield url
    except (OSError, sa.exc.SQLAlchemyError) as exc:
        pytest.exit(f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}", returncode=3)


@contextlib.contextmanager
def _postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database on the test server, dropped afterwards."""
    admin_url = make_url(POSTGRES_URL)
    name = f"taihu_test_{secrets.token_hex(4)}"

    async def _admin(statement: str) -> None:
        engine = sa.ext.asyncio.create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(sa.text(statement))
        finally:
            await engine.dispose()

    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def empty_database_url(tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, on the suite's database server."""
    if not POSTGRES_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    with _postgres_database() as url:
        yield url


@pytest.fixture
def database_url(migrated_url: str, tmp_path: Path) -> str:
    """A migrated, empty database for one test."""
    if not POSTGRES_URL:
        template = Path(make_url(migrated_url).database or "")
        target = tmp_path / "taihu.sqlite3"
        shutil.copyfile(template, target)
        return f"sqlite+aiosqlite:///{target}"

    async def _empty() -> None:
        db = Database(migrated_url)
        try:
            tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            async with db.engine.begin() as conn:
                await conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        finally:
            await db.dispose()

    asyncio.run(_empty())
    return migrated_url


@pytest.fixture
def cli_environment(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> None:
    """Point CLI commands at the test's database (commands read Settings() themselves)."""
    for key in list(os.environ):
        if key.startswith("TAIHU_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("TAIHU_ENV", "test")
    monkeypatch.setenv("TAIHU_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("TAIHU_DATABASE_URL", database_url)
    monkeypatch.setenv("TAIHU_SECRET_KEY", TEST_SECRET)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The test's database, opened."""
    database = Database(database_url)
    yield database
    await database.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    """A clock the test moves by hand."""
    return FrozenClock(START)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for a test: its own data directory and database."""
    return Settings(
        env="test",
        data_dir=tmp_path / "var",
        database=DatabaseSettings(url=database_url),
        security=SecuritySettings(secret_key=TEST_SECRET, login_max_failures=3),
    )


@pytest.fixture
def app(settings: Settings, db: Database, clock: FrozenClock) -> object:
    """The whole application, on the test's database and clock."""
    return create_app(settings, db=db, clock=clock)


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the application in-process."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://taihu.test") as http:
        yield http


class World:
    """Makes users, enterprises and tokens through the real services."""

    def __init__(self, db: Database, settings: Settings, clock: FrozenClock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    async def enterprise(self, name: str, credit_code: str) -> Enterprise:
        """Register an enterprise."""
        async with self.db.session() as session:
            return await EnterpriseService(session, self.clock).create(
                Principal.system("test"), name, credit_code
            )

    async def user(self, username: str, role: Role, *, enterprises: tuple[int, ...] = ()) -> User:
        """Create a user (password ``PASSWORD``) acting for ``enterprises``."""
        async with self.db.session() as session:
            accounts = AccountService(session, self.settings.security, self.clock)
            user = await accounts.create_user(Principal.system("test"), username, PASSWORD, role)
            for enterprise_id in enterprises:
                await accounts.add_membership(Principal.system("test"), user, enterprise_id)
            return user

    async def token(self, username: str, *, expires_days: int | None = None) -> str:
        """Issue an API token for a user and return its plain value."""
        async with self.db.session() as session:
            accounts = AccountService(session, self.settings.security, self.clock)
            user = await accounts.get_user(username)
            issued = await accounts.create_token(
                Principal.system("test"), user, expires_days=expires_days
            )
            return issued.plain

    async def bearer(self, username: str, role: Role, **kwargs: tuple[int, ...]) -> dict[str, str]:
        """Create a user and return an Authorization header for it."""
        await self.user(username, role, **kwargs)
        return {"Authorization": f"Bearer {await self.token(username)}"}


@pytest.fixture
def world(db: Database, settings: Settings, clock: FrozenClock) -> World:
    """A factory of users, enterprises and tokens."""
    return World(db, settings, clock)


# Synthetic credit codes with valid GB 32100-2015 and GB 11714 check characters.
CODE_A = "91320509MA0TXT010F"
CODE_B = "91320509MA0TXT002L"
