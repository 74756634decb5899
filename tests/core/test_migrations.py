from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

import taihu.accounts
import taihu.chains
import taihu.devices
import taihu.enterprises
import taihu.identifiers
import taihu.monitor
from taihu.core import Base, Database, head_revisions, schema_state, upgrade

# Their tables join Base.metadata.
_CONTEXTS = (
    taihu.accounts,
    taihu.chains,
    taihu.devices,
    taihu.enterprises,
    taihu.identifiers,
    taihu.monitor,
)


async def test_empty_database_migrates_to_head(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    try:
        before = await schema_state(db)
        assert before.current == frozenset()
        assert before.current_label == "empty"
        assert not before.is_current
        after = await upgrade(db)
        assert after.current == head_revisions()
        assert after.is_current
        again = await upgrade(db)  # upgrading a current schema is a no-op
        assert again.current == after.current
    finally:
        await db.dispose()


async def test_migrated_schema_matches_the_models(db: Database) -> None:
    def _diff(conn: Connection) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))

    async with db.engine.connect() as conn:
        assert await conn.run_sync(_diff) == []


async def test_test_database_is_at_head(db: Database) -> None:
    assert (await schema_state(db)).is_current
