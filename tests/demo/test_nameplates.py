"""The demo's loom and meter carry identifiers of their enterprise's prefix; one is public."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import sqlalchemy as sa

from taihu.accounts import Principal, Role
from taihu.core import Database
from taihu.demo.devices import seed_devices
from taihu.demo.nameplates import seed_nameplates
from taihu.devices import Device
from taihu.identifiers import IdentifierService
from tests.conftest import CODE_A, World
from tests.web.test_console import sign_in

NOW = datetime(2026, 12, 6, 10, 3, tzinfo=UTC)
LOOM, METER = "88.118.1/LOOM-01", "88.118.1/METER-01"


async def test_the_demo_links_devices_and_identifiers(
    client: httpx.AsyncClient, db: Database, world: World
) -> None:
    enterprise = await world.enterprise("太湖示范光纤科技有限公司", CODE_A)
    async with db.session() as session:
        await IdentifierService(session, world.clock).create_prefix(
            Principal.system("test"), "88.118.1", enterprise_id=enterprise.id
        )
    await seed_devices(db, [enterprise.id], NOW)
    linked = await seed_nameplates(db, enterprise.id, "88.118.1", "http://demo.test:8001", NOW)
    assert linked == [LOOM, METER]
    async with db.session() as session:
        rows = await session.execute(
            sa.select(Device.identifier, Device.id).where(Device.identifier.is_not(None))
        )
        ids = {row.identifier: row.id for row in rows}
    assert set(ids) == {LOOM, METER}

    # Resolving the identifier gives the device's public page on the demo's address.
    record = (await client.get(f"/api/handles/{LOOM}")).json()
    urls = [v["data"]["value"] for v in record["values"] if v["type"] == "URL"]
    assert urls == [f"http://demo.test:8001/public/devices/{ids[LOOM]}"]
    loom = (await client.get(f"/api/public/devices/{ids[LOOM]}")).json()
    assert loom["public_state"] is True
    assert {"running", "speed", "temperature"} <= set(loom["telemetry"])  # the back-filled day
    meter = (await client.get(f"/api/public/devices/{ids[METER]}")).json()
    assert meter == {"id": ids[METER], "identifier": METER, "public_state": False}

    # The cross-links: identifier page -> device, device list -> identifier.
    resolved = await client.get(f"/r/{LOOM}")
    assert f'href="/public/devices/{ids[LOOM]}"' in resolved.text
    await world.user("factory", Role.ENTERPRISE, enterprises=(enterprise.id,))
    await sign_in(client, "factory")
    listing = await client.get("/devices")
    assert f'<a href="/r/{LOOM}"><code>{LOOM}</code></a>' in listing.text
    looked_up = await client.get("/identifiers", params={"handle": LOOM})
    assert f'<a href="/devices/{ids[LOOM]}"' in looked_up.text
