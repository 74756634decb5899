import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

import taihu.accounts
import taihu.alarms
import taihu.chains
import taihu.devices
import taihu.enterprises
import taihu.identifiers
import taihu.monitor
from taihu.core import Base, Database, head_revisions, schema_state, upgrade
from taihu.core.migrate import alembic_config

# Their tables join Base.metadata.
_CONTEXTS = (
    taihu.accounts,
    taihu.alarms,
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
        partitions: set[str] = set()
        if conn.dialect.name == "postgresql":  # PostgreSQL partitions are storage, not models
            found = conn.execute(
                sa.text("SELECT relname FROM pg_class WHERE relispartition AND relkind = 'r'")
            )
            partitions = set(found.scalars())

        def include_name(name: str | None, kind: str, parents: object) -> bool:
            return not (kind == "table" and name in partitions)

        context = MigrationContext.configure(conn, opts={"include_name": include_name})
        return list(compare_metadata(context, Base.metadata))

    async with db.engine.connect() as conn:
        assert await conn.run_sync(_diff) == []


async def test_test_database_is_at_head(db: Database) -> None:
    assert (await schema_state(db)).is_current


async def test_points_survive_the_partitioning_of_ts_points(empty_database_url: str) -> None:
    db = Database(empty_database_url)
    week = 7 * 86_400_000
    t0 = 1_764_057_600_000  # a Tuesday; two weeks of points follow
    try:
        await upgrade(db, "devices_0001")
        async with db.engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO ts_points (device_id, key, ts, kind, num) "
                    "VALUES (1, 'x', :ts, 2, 1.0)"
                ),
                [{"ts": t0}, {"ts": t0 + week}],
            )
        await upgrade(db)
        async with db.engine.connect() as conn:
            stored = await conn.execute(sa.text("SELECT ts FROM ts_points ORDER BY ts"))
            assert list(stored.scalars()) == [t0, t0 + week]
            if db.dialect == "postgresql":
                found = await conn.execute(
                    sa.text(
                        "SELECT relname FROM pg_class WHERE relispartition AND relkind = 'r' "
                        "ORDER BY relname"
                    )
                )
                assert list(found.scalars()) == [
                    "ts_points_default", "ts_points_w20251124", "ts_points_w20251201"
                ]  # fmt: skip

        def _down(conn: Connection) -> None:
            command.downgrade(alembic_config(conn), "devices_0001")

        async with db.engine.begin() as conn:
            await conn.run_sync(_down)
        async with db.engine.connect() as conn:
            stored = await conn.execute(sa.text("SELECT ts FROM ts_points ORDER BY ts"))
            assert list(stored.scalars()) == [t0, t0 + week]
    finally:
        await db.dispose()
