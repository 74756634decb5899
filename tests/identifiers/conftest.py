"""Fixtures of the identifiers tests: a node prefix, an enterprise prefix and Basic credentials."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from taihu.accounts import Principal
from taihu.core import Database
from taihu.identifiers import IdentifierService
from taihu.identifiers.catalog import TemplateService
from tests.conftest import CODE_A, World

NODE = "88.118"
PREFIX = "88.118.8"
SECRET = "s3cret-key-of-prefix"


def basic(username: str, password: str) -> dict[str, str]:
    """An HTTP Basic header with the user name percent-encoded, as pyhandle sends it."""
    token = base64.b64encode(f"{quote(username, safe='')}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


ADMIN = basic(f"300:{PREFIX}/ADMIN", SECRET)


@pytest.fixture
async def prefixes(db: Database, world: World) -> int:
    """The node prefix 88.118 and the enterprise prefix 88.118.8 owned by enterprise A (its id)."""
    enterprise = await world.enterprise("Hengli Elevator", CODE_A)
    async with db.session() as session:
        service = IdentifierService(session, world.clock)
        await service.create_prefix(Principal.system("test"), NODE, admin_password="node-" + SECRET)
        await service.create_prefix(
            Principal.system("test"), PREFIX, enterprise_id=enterprise.id, admin_password=SECRET
        )
    return enterprise.id


@pytest.fixture
async def templates(db: Database, world: World, prefixes: int) -> int:
    """The shipped templates installed under the node prefix; the owner enterprise's id."""
    async with db.session() as session:
        await TemplateService(session, world.clock).install_builtins(Principal.system("test"), NODE)
    return prefixes


def elevator(suffix: str, **changes: str) -> dict[str, object]:
    """An SNMS identifier object of the elevator template, with items changed or removed ("")."""
    items = {
        "manufacturer": "苏州恒立电梯有限公司",
        "model": "HL-2000",
        "batch": "2026-B07",
        "productionDate": "2026-03-14",
        "serialNumber": f"SN{suffix}",
        "ratedLoadKg": "1000",
        **changes,
    }
    return {
        "handle": f"{PREFIX}/{suffix}",
        "templateVersion": "elevator-1.0",
        "value": [
            {"type": k, "data": {"format": "string", "value": v}} for k, v in items.items() if v
        ],
    }
