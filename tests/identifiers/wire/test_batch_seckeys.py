"""HS_SECKEY values registered through a batch are sealed, as single writes seal them."""

from __future__ import annotations

import sqlalchemy as sa

from taihu.accounts import Principal
from taihu.core import Database
from taihu.identifiers import BatchService, HandleRow, HandleValue, IdentifierService, parse_handle
from taihu.identifiers.registration import BatchItem
from taihu.identifiers.registration.seckeys import is_sealed, seckeys_for
from taihu.settings import Settings
from tests.identifiers.wire.conftest import PREFIX, Node


async def test_batch_seals_secret_keys(node: Node, db: Database, settings: Settings) -> None:
    handle = parse_handle(f"{PREFIX}/KEYS")
    key = HandleValue(index=300, type="HS_SECKEY", data=b"batch-secret-key")
    async with db.session() as session:
        batch = BatchService(session, seckeys=seckeys_for(settings))
        (result,) = await batch.write(
            Principal.system("test"), [BatchItem(handle.text, [key])], update=False
        )
    assert result.ok
    async with db.session() as session:
        record = await session.scalar(
            sa.select(HandleRow.record).where(HandleRow.key == handle.key)
        )
        service = IdentifierService(session, seckeys=seckeys_for(settings))
        stored = next(v for v in await service.values(handle) if v.index == 300)
        # What a wire challenge-response computes its MAC with.
        secret = await service.secret_key_of(handle, 300)
    assert record is not None
    assert "batch-secret-key" not in record
    assert is_sealed(stored.data)
    assert not stored.public_read
    assert secret == b"batch-secret-key"
