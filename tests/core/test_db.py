import asyncio
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest
import sqlalchemy as sa

from taihu.accounts import AuditEntry
from taihu.core import Database


async def test_times_come_back_aware_utc(db: Database) -> None:
    shanghai = timezone(timedelta(hours=8))
    moment = datetime(2026, 1, 1, 9, 30, tzinfo=shanghai)
    async with db.session() as session:
        session.add(AuditEntry(at=moment, actor="t", action="x", entity_type="y", entity_id="1"))
    async with db.session() as session:
        stored = await session.scalar(sa.select(AuditEntry.at))
    assert stored == moment
    assert stored is not None
    assert stored.tzinfo is not None
    assert stored.utcoffset() == timedelta(0)
    assert stored == datetime(2026, 1, 1, 1, 30, tzinfo=UTC)


async def test_naive_times_are_refused(db: Database) -> None:
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the point of the test
    entry = AuditEntry(at=naive, actor="t", action="x", entity_type="y", entity_id="1")
    async with db.sessions() as session:
        session.add(entry)
        with pytest.raises(sa.exc.StatementError, match="naive"):
            await session.flush()


async def test_failed_unit_of_work_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):  # noqa: PT012 - the unit of work is what raises
        async with db.session() as session:
            session.add(
                AuditEntry(
                    at=datetime.now(UTC), actor="t", action="x", entity_type="y", entity_id="1"
                )
            )
            await session.flush()
            raise RuntimeError("boom")
    async with db.session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


async def test_sqlite_runs_in_wal_with_foreign_keys(db: Database) -> None:
    if db.dialect != "sqlite":
        pytest.skip("SQLite pragmas; the PostgreSQL run checks foreign keys below")
    async with db.engine.connect() as conn:
        assert (await conn.execute(sa.text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(sa.text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await conn.execute(sa.text("PRAGMA busy_timeout"))).scalar() == 5000


async def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        async with db.session() as session:
            await session.execute(
                sa.text(
                    "INSERT INTO enterprise_members (user_id, enterprise_id, created_at) "
                    "VALUES (999, 999, :at)"
                ),
                {"at": datetime.now(UTC).replace(tzinfo=None)},
            )


async def test_json_columns_keep_keys_big_numbers_and_embedded_json(db: Database) -> None:
    # JSON columns are written with orjson; what it refuses (integers past 64 bits) falls back
    # to the standard encoder, and already-serialized parts are embedded as they are.
    embedded = orjson.Fragment(b'[{"index":1}]')
    afters = [{"count": 2**70, "by_day": {1: "one"}}, {"by_day": {1: "one"}, "values": embedded}]
    async with db.session() as session:
        for n, after in enumerate(afters):
            now = datetime.now(UTC)
            session.add(
                AuditEntry(
                    at=now, actor="t", action="x", entity_type="y", entity_id=str(n), after=after
                )
            )
    async with db.session() as session:
        stored = list(await session.scalars(sa.select(AuditEntry.after).order_by(AuditEntry.id)))
    assert stored == [
        {"count": 2**70, "by_day": {"1": "one"}},
        {"by_day": {"1": "one"}, "values": [{"index": 1}]},
    ]


async def test_a_savepoint_that_reads_then_writes_outlasts_a_concurrent_commit(
    db: Database,
) -> None:
    def entry(actor: str) -> AuditEntry:
        return AuditEntry(at=datetime.now(UTC), actor=actor, action="x", entity_type="y",
                          entity_id="1")  # fmt: skip

    async def other_writer() -> None:
        async with other.session() as session:
            session.add(entry("other"))

    # Another process's connection (the demo's simulated devices commit all the time).
    other = Database(db.url, busy_timeout_ms=120_000)
    try:
        async with db.session() as session:
            await session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
            async with session.begin_nested():  # a form's "refused change leaves nothing"
                await session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
                writer = asyncio.create_task(other_writer())
                # On SQLite the other writer now waits for this unit of work; before, it
                # committed here and the write below failed with "database is locked".
                await asyncio.wait({writer}, timeout=1.0)
                session.add(entry("form"))
                await session.flush()
        await writer
        async with db.session() as session:
            actors = set((await session.scalars(sa.select(AuditEntry.actor))).all())
        assert actors == {"form", "other"}
    finally:
        await other.dispose()
