"""The public identifier page, its QR label and the console's identifiers page."""

from __future__ import annotations

import re

import httpx
import pytest

from taihu.accounts import Principal, Role
from taihu.core import Database
from taihu.identifiers.prefixes import ApplicationService
from tests.conftest import World
from tests.identifiers.conftest import PREFIX, elevator
from tests.web.test_console import sign_in

pytestmark = pytest.mark.usefixtures("templates")


@pytest.fixture
async def registered(client: httpx.AsyncClient, world: World, templates: int) -> str:
    """One elevator identifier with a private value; its handle."""
    member = await world.bearer("lift-erp", Role.ENTERPRISE, enterprises=(templates,))
    body = elevator("ELV-9", maintenanceRecord="2026-10 更换曳引钢丝绳")
    response = await client.post("/identityv2/data", json=body, headers=member)
    assert response.json()["status"] == 1
    return f"{PREFIX}/ELV-9"


async def test_public_page_lays_values_out_by_template(
    client: httpx.AsyncClient, registered: str
) -> None:
    page = await client.get(f"/r/{registered}")
    assert page.status_code == 200
    text = page.text
    assert "电梯 Elevator" in text
    assert "GB/T 4754 3435" in text
    # Labels come from the template, in its order: manufacturer before model before batch.
    positions = [text.index(label) for label in ("制造商 Manufacturer", "型号 Model", "批次 Batch")]
    assert positions == sorted(positions)
    assert "2026-10 更换曳引钢丝绳" in text
    assert "HS_ADMIN" not in text
    assert 'name="viewport"' in text
    assert f'src="/r/{registered}.svg"' in text


async def test_qr_label_is_an_svg_of_the_page_url(
    client: httpx.AsyncClient, registered: str
) -> None:
    label = await client.get(f"/r/{registered}.svg")
    assert label.status_code == 200
    assert label.headers["content-type"] == "image/svg+xml"
    assert label.text.lstrip().startswith(("<?xml", "<svg"))
    assert f"<title>{registered}</title>" in label.text
    assert (await client.get(f"/r/{PREFIX}/missing.svg")).status_code == 404


async def test_unknown_and_malformed_identifiers(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"/r/{PREFIX}/nothing")).status_code == 404
    assert (await client.get("/r/no-slash")).status_code == 400


async def test_console_page_reviews_applications(
    client: httpx.AsyncClient, world: World, db: Database, registered: str, templates: int
) -> None:
    async with db.session() as session:
        application = await ApplicationService(session, world.clock).apply(
            Principal.system("test"), templates, contact="王工 0512", industry_class="3435"
        )
    await world.user("auditor", Role.AUDITOR)
    await sign_in(client, "auditor")
    page = await client.get("/identifiers", params={"handle": registered})
    assert page.status_code == 200
    assert "标识解析" in page.text
    assert "HL-2000" in page.text
    assert "88.118.9" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    refused = await client.post(
        f"/identifiers/applications/{application.id}/approve", data={"csrf": "wrong"}
    )
    assert refused.status_code == 403
    approved = await client.post(
        f"/identifiers/applications/{application.id}/approve", data={"csrf": csrf[1]}
    )
    assert approved.status_code == 303
    after = await client.get("/identifiers")
    assert "已批准" in after.text  # the status, in the page's language (web/terms.py)
