"""Fixtures of the node hierarchy tests: a database of its own per node."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL, _migrate, _postgres_database

NAMES = ("top", "wujiang", "kunshan")


@pytest.fixture
def node_urls(migrated_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """A migrated database per node: copies of the SQLite template, or new PostgreSQL ones."""
    if not POSTGRES_URL:
        urls = {}
        for name in NAMES:
            target = tmp_path / f"{name}.sqlite3"
            shutil.copyfile(make_url(migrated_url).database or "", target)
            urls[name] = f"sqlite+aiosqlite:///{target}"
        yield urls
        return
    with contextlib.ExitStack() as stack:
        urls = {name: stack.enter_context(_postgres_database()) for name in NAMES}
        for url in urls.values():
            asyncio.run(_migrate(url))
        yield urls
