"""Fixtures of the surveys' tests: a published survey assigned to a township, app users."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from taihu.accounts import Role
from taihu.core import Database, FrozenClock
from tests.conftest import World
from tests.surveys.helpers import TOWN, XLSX, chain_form, enterprises


@dataclass
class Field:
    """A published survey and the people and devices around it."""

    bureau: dict[str, str]
    owner_a: dict[str, str]
    owner_c: dict[str, str]
    enterprise_ids: list[int]
    key_a: str  # app user of enterprise A
    key_c: str  # app user of enterprise C (not asked)


async def upload(
    client: httpx.AsyncClient, headers: dict[str, str], content: bytes
) -> httpx.Response:
    """Upload an XLSForm through the API."""
    return await client.post(
        "/api/surveys", headers=headers, files={"file": ("chain.xlsx", content, XLSX)}
    )


@pytest.fixture
async def field(client: httpx.AsyncClient, world: World, db: Database, clock: FrozenClock) -> Field:
    """Survey ``chain_survey`` version 1 published and assigned to TOWN (A and B, not C)."""
    ids = await enterprises(db, clock)
    bureau = await world.bearer("zhang.wei", Role.BUREAU)
    owner_a = await world.bearer("owner.a", Role.ENTERPRISE, enterprises=(ids[0],))
    owner_c = await world.bearer("owner.c", Role.ENTERPRISE, enterprises=(ids[2],))
    assert (await upload(client, bureau, chain_form("1"))).status_code == 201
    assert (
        await client.post("/api/surveys/chain_survey/publish", headers=bureau)
    ).status_code == 200
    answer = await client.post(
        "/api/surveys/chain_survey/assignments",
        headers=bureau,
        json={"scope": "township", "value": TOWN, "deadline": "2026-12-31"},
    )
    assert answer.json()["enterprises"] == 2, answer.text
    keys = []
    for owner, eid in ((owner_a, ids[0]), (owner_c, ids[2])):
        made = await client.post(
            "/api/survey-app-users",
            headers=owner,
            json={"display_name": f"平板{eid}", "enterprise_id": eid},
        )
        assert made.status_code == 201, made.text
        keys.append(made.json()["token"])
    return Field(bureau, owner_a, owner_c, ids, keys[0], keys[1])
