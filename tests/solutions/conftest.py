"""The actors of the solution pool's tests: two enterprises (one a provider), staff, a pool."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from taihu.accounts import Role
from tests.conftest import CODE_A, CODE_B, World


@dataclass
class Pool:
    """Ids and Authorization headers of a small stocked pool."""

    factory: int  # an enterprise that posts needs
    provider_firm: int  # an enterprise that is also a provider
    provider: int  # the provider linked to provider_firm
    institute: int  # a research institute, no enterprise
    h: dict[str, dict[str, str]]


async def solution(
    client: httpx.AsyncClient, pool: Pool, who: str, provider: int, **fields: object
) -> dict:  # type: ignore[type-arg]
    """Create a solution through the API and return it."""
    body = {"title_zh": "能耗管理", "title_en": "Energy management", **fields}
    answer = await client.post(
        f"/api/solutions/providers/{provider}/solutions", json=body, headers=pool.h[who]
    )
    assert answer.status_code == 201, answer.text
    created: dict = answer.json()  # type: ignore[type-arg]
    return created


@pytest.fixture
async def pool(client: httpx.AsyncClient, world: World) -> Pool:
    """Two enterprises with a user each, a bureau analyst, an admin and two providers."""
    factory = await world.enterprise("Wujiang Silk", CODE_A)
    firm = await world.enterprise("Taihu IIoT Services", CODE_B)
    h = {
        "factory": await world.bearer("factory", Role.ENTERPRISE, enterprises=(factory.id,)),
        "vendor": await world.bearer("vendor", Role.ENTERPRISE, enterprises=(firm.id,)),
        "bureau": await world.bearer("bureau", Role.BUREAU),
        "admin": await world.bearer("root", Role.ADMIN),
    }
    made = []
    for body in (
        {
            "name": "太湖工业互联网服务",
            "name_en": "Taihu IIoT",
            "kind": "service",
            "credit_code": CODE_B,
        },
        {"name": "工业互联网研究机构", "name_en": "IIoT institute", "kind": "research"},
    ):
        answer = await client.post("/api/solutions/providers", json=body, headers=h["bureau"])
        assert answer.status_code == 201, answer.text
        made.append(answer.json())
    assert made[0]["enterprise_id"] == firm.id  # linked to the registry by its credit code
    return Pool(factory.id, firm.id, made[0]["id"], made[1]["id"], h)
