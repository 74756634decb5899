"""Devices linked to their identifiers: the record links back, resolution gives the URL, sharing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from taihu.accounts import AuditEntry, Principal, Role
from taihu.core import Database
from taihu.devices import Device, DeviceService
from taihu.devices.values import Point
from taihu.enterprises import Enterprise
from taihu.identifiers import Handle, HandleValue, IdentifierService, TemplateService
from tests.conftest import CODE_A, CODE_B, World
from tests.web.test_console import sign_in

SYSTEM = Principal.system("test")
MINE, THEIRS = "88.118.8/ELV-001", "88.118.9/ELV-900"


@dataclass
class Setup:
    device_id: int
    other_id: int
    enterprise_id: int
    owner: dict[str, str]
    stranger: dict[str, str]


@pytest.fixture
async def setup(db: Database, world: World) -> Setup:
    """Enterprise A with prefix 88.118.8, two devices and a handle; B with 88.118.9 and one."""
    a = await world.enterprise("恒立电梯", CODE_A)
    b = await world.enterprise("乙厂", CODE_B)
    async with db.session() as session:
        ids = IdentifierService(session, world.clock)
        await ids.create_prefix(SYSTEM, "88.118.8", enterprise_id=a.id)
        await ids.create_prefix(SYSTEM, "88.118.9", enterprise_id=b.id)
        for text in (MINE, "88.118.8/ELV-002", THEIRS):
            await ids.put(SYSTEM, Handle(text), [HandleValue(1, "NOTE", b"lift")])
        registry = DeviceService(session, world.clock)
        device = (await registry.create(SYSTEM, a.id, "电梯-1号楼")).device
        other = (await registry.create(SYSTEM, a.id, "电梯-2号楼")).device
    return Setup(
        device.id,
        other.id,
        a.id,
        await world.bearer("alice", Role.ENTERPRISE, enterprises=(a.id,)),
        await world.bearer("bob", Role.ENTERPRISE, enterprises=(b.id,)),
    )


async def _urls(client: httpx.AsyncClient, handle: str) -> list[str]:
    answer = await client.get(f"/api/handles/{handle}")
    assert answer.status_code == 200, answer.text
    return [v["data"]["value"] for v in answer.json()["values"] if v["type"] == "URL"]


async def test_link_resolve_share_unlink(
    client: httpx.AsyncClient, db: Database, setup: Setup, app: Any, world: World
) -> None:
    assert await _urls(client, MINE) == []  # cached by the resolver before the link
    url = f"/api/devices/{setup.device_id}/identifier"
    answer = await client.put(url, json={"identifier": MINE}, headers=setup.owner)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": setup.device_id, "identifier": MINE, "public_state": False}
    page = f"http://taihu.test/public/devices/{setup.device_id}"
    assert await _urls(client, MINE) == [page]

    # Not shared: only that it exists.
    public = await client.get(f"/api/public/devices/{setup.device_id}")
    assert public.json() == {"id": setup.device_id, "identifier": MINE, "public_state": False}
    now = int(world.clock.now().timestamp() * 1000)
    await app.state.device_hub.ingest.write(setup.device_id, [Point("speed", now, 1.5)])
    html = await client.get(f"/public/devices/{setup.device_id}")
    assert html.status_code == 200
    assert "1.5" not in html.text
    assert "电梯-1号楼" not in html.text

    shared = await client.put(
        f"/api/devices/{setup.device_id}/public-state",
        json={"public_state": True},
        headers=setup.owner,
    )
    assert shared.status_code == 200
    public = await client.get(f"/api/public/devices/{setup.device_id}")
    body = public.json()
    assert body["name"] == "电梯-1号楼"
    assert body["enterprise"] == "恒立电梯"
    assert body["telemetry"]["speed"]["value"] == 1.5
    html = await client.get(f"/public/devices/{setup.device_id}")
    assert "1.5" in html.text
    assert f'href="/r/{MINE}"' in html.text
    resolved = await client.get(f"/r/{MINE}")
    assert f'href="/public/devices/{setup.device_id}"' in resolved.text

    # Moved to another identifier: the old record loses its link, the new one gains it.
    answer = await client.put(url, json={"identifier": "88.118.8/ELV-002"}, headers=setup.owner)
    assert answer.status_code == 200
    assert await _urls(client, MINE) == []
    assert await _urls(client, "88.118.8/ELV-002") == [page]
    answer = await client.put(url, json={"identifier": None}, headers=setup.owner)
    assert answer.status_code == 200
    assert answer.json()["identifier"] is None
    assert await _urls(client, "88.118.8/ELV-002") == []
    assert (await client.get(f"/api/public/devices/{setup.device_id}")).status_code == 404

    async with db.session() as session:
        actions = list(
            await session.scalars(
                sa.select(AuditEntry.action)
                .where(AuditEntry.action.like("device.%"), AuditEntry.action != "device.create")
                .order_by(AuditEntry.id)
            )
        )
    assert actions == [
        "device.identifier_set",
        "device.public_state",
        "device.identifier_set",
        "device.identifier_clear",
    ]


async def test_only_the_owners_identifiers(
    client: httpx.AsyncClient, db: Database, setup: Setup
) -> None:
    url = f"/api/devices/{setup.device_id}/identifier"
    refused = await client.put(url, json={"identifier": THEIRS}, headers=setup.owner)
    assert refused.status_code == 403
    assert refused.json()["error"] == "identifier_not_owned"
    hidden = await client.put(url, json={"identifier": MINE}, headers=setup.stranger)
    assert hidden.status_code == 404
    missing = await client.put(url, json={"identifier": "88.118.8/NONE"}, headers=setup.owner)
    assert missing.status_code == 404
    bad = await client.put(url, json={"identifier": "no-slash"}, headers=setup.owner)
    assert bad.status_code == 400
    shared = await client.put(
        f"/api/devices/{setup.device_id}/public-state",
        json={"public_state": True},
        headers=setup.stranger,
    )
    assert shared.status_code == 404
    assert (await client.put(url, json={"identifier": MINE}, headers=setup.owner)).is_success
    taken = await client.put(
        f"/api/devices/{setup.other_id}/identifier",
        json={"identifier": MINE},
        headers=setup.owner,
    )
    assert taken.status_code == 409
    assert taken.json()["error"] == "identifier_linked"
    # Nothing of the refusals was written: one link value, on the first device's record.
    assert await _urls(client, MINE) == [f"http://taihu.test/public/devices/{setup.device_id}"]
    async with db.session() as session:
        other = await session.get(Device, setup.other_id)
        assert other is not None
        assert other.identifier is None


async def _stored_unchecked(db: Database, world: World, enterprise_id: int, name: str,
                            identifier: str) -> Device:  # fmt: skip
    """A device holding an identifier as older releases stored it at creation: unchecked."""
    async with db.session() as session:
        device = (
            await DeviceService(session, world.clock).create(SYSTEM, enterprise_id, name)
        ).device
        device.identifier = identifier
    return device


async def test_an_identifier_claimed_at_creation_proves_nothing(
    client: httpx.AsyncClient, db: Database, setup: Setup, world: World
) -> None:
    async with db.session() as session:
        their = await session.scalar(
            sa.select(Enterprise.id).where(Enterprise.credit_code == CODE_B)
        )
        assert their is not None
    claim = await _stored_unchecked(db, world, their, "冒名设备", MINE)
    assert (await client.get(f"/api/public/devices/{claim.id}")).status_code == 404
    assert f"/public/devices/{claim.id}" not in (await client.get(f"/r/{MINE}")).text
    url = f"/api/devices/{setup.device_id}/identifier"
    assert (await client.put(url, json={"identifier": MINE}, headers=setup.owner)).is_success
    assert f'href="/public/devices/{setup.device_id}"' in (await client.get(f"/r/{MINE}")).text
    # Its own enterprise's identifier stored at creation: linking it writes the back link.
    own = await _stored_unchecked(db, world, setup.enterprise_id, "电梯-3号楼", "88.118.8/ELV-002")
    url = f"/api/devices/{own.id}/identifier"
    linked = await client.put(url, json={"identifier": "88.118.8/ELV-002"}, headers=setup.owner)
    assert linked.status_code == 200
    assert await _urls(client, "88.118.8/ELV-002") == [f"http://taihu.test/public/devices/{own.id}"]


async def test_registered_with_its_identifier(
    client: httpx.AsyncClient, db: Database, setup: Setup
) -> None:
    """`identifier` of POST /api/devices links the device, with the link's checks, or registers
    nothing."""

    async def register(name: str, identifier: str, headers: dict[str, str]) -> httpx.Response:
        body = {"enterprise_id": setup.enterprise_id, "name": name, "identifier": identifier}
        return await client.post("/api/devices", json=body, headers=headers)

    made = await register("电梯-3号楼", f" {MINE} ", setup.owner)
    assert made.status_code == 201, made.text
    device = made.json()["device"]
    assert device["identifier"] == MINE
    page = f"http://taihu.test/public/devices/{device['id']}"
    assert await _urls(client, MINE) == [page]
    assert (await client.get(f"/api/public/devices/{device['id']}")).status_code == 200

    refusals = [
        (THEIRS, setup.owner, 403, "identifier_not_owned"),
        ("88.118.8/NONE", setup.owner, 404, "handle_not_found"),
        (MINE, setup.owner, 409, "identifier_linked"),
        ("no-slash", setup.owner, 400, None),
        ("88.118.8/ELV-002", setup.stranger, 403, None),  # not the enterprise's user
    ]
    for n, (identifier, headers, status, code) in enumerate(refusals):
        refused = await register(f"拒绝-{n}", identifier, headers)
        assert refused.status_code == status, (identifier, refused.text)
        if code is not None:
            assert refused.json()["error"] == code
    empty = await register("空标识", "", setup.owner)
    assert empty.status_code == 422
    async with db.session() as session:
        names = set(await session.scalars(sa.select(Device.name)))
        actions = list(
            await session.scalars(
                sa.select(AuditEntry.action)
                .where(
                    AuditEntry.entity_type == "device", AuditEntry.entity_id == str(device["id"])
                )
                .order_by(AuditEntry.id)
            )
        )
    assert names == {"电梯-1号楼", "电梯-2号楼", "电梯-3号楼"}  # the refused left nothing
    assert actions == ["device.create", "device.identifier_set"]
    assert await _urls(client, "88.118.8/ELV-002") == []


async def test_a_templated_identifier_takes_the_link(
    client: httpx.AsyncClient, db: Database, setup: Setup, world: World
) -> None:
    items = {"manufacturer": "苏州恒立电梯有限公司", "model": "HL-2000", "batch": "B1",
             "productionDate": "2026-03-14", "serialNumber": "SN0001", "ratedLoadKg": "1000",
             "TEMPLATE": "elevator-1.0"}  # fmt: skip
    async with db.session() as session:
        await TemplateService(session, world.clock).install_builtins(SYSTEM, "88.118.8")
        values = [HandleValue(2000 + n, k, v.encode()) for n, (k, v) in enumerate(items.items())]
        await IdentifierService(session, world.clock).put(SYSTEM, Handle("88.118.8/ELV-T"), values)
    answer = await client.put(
        f"/api/devices/{setup.device_id}/identifier",
        json={"identifier": "88.118.8/ELV-T"},
        headers=setup.owner,
    )
    assert answer.status_code == 200, answer.text
    assert await _urls(client, "88.118.8/ELV-T") == [
        f"http://taihu.test/public/devices/{setup.device_id}"
    ]


async def test_console_forms_and_links(
    client: httpx.AsyncClient, setup: Setup, world: World
) -> None:
    await world.user("factory", Role.ENTERPRISE, enterprises=(setup.enterprise_id,))
    await sign_in(client, "factory")
    page = await client.get(f"/devices/{setup.device_id}")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    sent = await client.post(
        f"/devices/{setup.device_id}/identifier",
        data={"csrf": csrf.group(1), "identifier": MINE},
    )
    assert sent.status_code == 303
    listing = await client.get("/devices")
    assert f'<a href="/r/{MINE}"><code>{MINE}</code></a>' in listing.text
    looked_up = await client.get("/identifiers", params={"handle": MINE})
    assert f'<a href="/devices/{setup.device_id}"' in looked_up.text
    shared = await client.post(
        f"/devices/{setup.device_id}/public-state",
        data={"csrf": csrf.group(1), "public_state": "1"},
    )
    assert shared.status_code == 303
    detail = await client.get(f"/devices/{setup.device_id}")
    assert 'id="device-identifier"' in detail.text
    refused = await client.post(
        f"/devices/{setup.device_id}/identifier",
        data={"csrf": csrf.group(1), "identifier": THEIRS},
    )
    assert refused.status_code == 403
