"""Handle case: insensitive by default, as the reference Handle.Net server (99.1/REF-1 finds
99.1/ref-1), the case written kept; ``TAIHU_HANDLE_CASE_SENSITIVE`` for the other rule.

The REST API, the SNMS API and the Handle protocol (both its paths) share one key; the
migration folds the keys of identifiers registered before.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa

from taihu.accounts import Role
from taihu.core import Database, upgrade
from taihu.identifiers import Handle, set_case_sensitive
from taihu.identifiers.handle import plain_key
from tests.conftest import World
from tests.identifiers.conftest import ADMIN, PREFIX

pytestmark = pytest.mark.usefixtures("prefixes")


@pytest.fixture
def sensitive() -> Iterator[None]:
    """The other rule for one test (set after the app is built, which sets the setting's)."""
    set_case_sensitive(True)
    try:
        yield
    finally:
        set_case_sensitive(False)


async def _create(client: httpx.AsyncClient, handle: str) -> httpx.Response:
    body = {"values": [{"index": 1, "type": "URL", "data": "https://lift.example/ref-1"}]}
    return await client.put(f"/api/handles/{handle}", json=body, headers=ADMIN)


def test_keys_fold_ascii_letters_only() -> None:
    assert Handle("99.1/ref-1").key == Handle("99.1/REF-1").key == "99.1/REF-1"
    assert Handle("99.1/电梯-é").key == "99.1/电梯-é"
    assert plain_key(b"99.1/ref-1") == "99.1/REF-1"
    assert Handle("99.1/ref-1").text == "99.1/ref-1"


async def test_rest_finds_another_case_and_shows_the_case_written(
    client: httpx.AsyncClient,
) -> None:
    assert (await _create(client, f"{PREFIX}/ref-1")).status_code == 201
    found = await client.get(f"/api/handles/{PREFIX.lower()}/REF-1")
    assert found.status_code == 200
    assert found.json()["handle"] == f"{PREFIX}/ref-1"
    # The same handle: a second registration in other capitals is refused.
    again = await _create(client, f"{PREFIX}/Ref-1")
    assert again.status_code == 409


async def test_snms_detail_finds_another_case(client: httpx.AsyncClient, world: World) -> None:
    await _create(client, f"{PREFIX}/ref-1")
    headers = await world.bearer("reader", Role.ENTERPRISE)
    detail = await client.get(
        "/identityv2/data/detail", params={"handle": f"{PREFIX}/REF-1"}, headers=headers
    )
    assert detail.json()["status"] == 1
    assert detail.json()["data"]["value"][0]["type"] == "URL"


async def test_the_other_rule_compares_suffixes_as_written(
    client: httpx.AsyncClient, sensitive: None
) -> None:
    await _create(client, f"{PREFIX}/ref-1")
    assert (await client.get(f"/api/handles/{PREFIX.lower()}/ref-1")).status_code == 200
    assert (await client.get(f"/api/handles/{PREFIX}/REF-1")).status_code == 404
    assert (await _create(client, f"{PREFIX}/REF-1")).status_code == 201


async def test_the_migration_folds_the_keys_registered_before(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    try:
        await upgrade(db, "identifiers_0003")
        async with db.engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO id_prefixes (id, prefix, kind, status, created_at) "
                    "VALUES (1, '99.1', 'node', 'active', :now)"
                ),
                {"now": now},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO id_handles (key, handle, prefix_id, record, created_at, "
                    "updated_at) VALUES (:key, :key, 1, '[]', :now, :now)"
                ),
                [
                    {"key": k, "now": now}
                    for k in ("99.1/ref-1", "99.1/Twin", "99.1/TWIN", "99.1/é")
                ],
            )
        await upgrade(db)
        async with db.engine.connect() as conn:
            rows = await conn.execute(sa.text("SELECT handle, key FROM id_handles ORDER BY id"))
            assert dict(rows.all()) == {
                "99.1/ref-1": "99.1/REF-1",  # folded, the case written kept
                "99.1/Twin": "99.1/Twin",  # two handles differing only in case keep their keys
                "99.1/TWIN": "99.1/TWIN",
                "99.1/é": "99.1/é",  # only ASCII letters fold, as in Handle.key
            }
    finally:
        await db.dispose()
