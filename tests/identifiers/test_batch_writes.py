"""Batch writes through the bulk path (COPY on PostgreSQL, one prepared statement on SQLite).

The suite runs on SQLite and, with TAIHU_TEST_POSTGRES_URL, on PostgreSQL: the same expected
per-item results and rows hold on both.
"""

from __future__ import annotations

import orjson
import pytest
import sqlalchemy as sa

from taihu.accounts import AuditEntry, Principal
from taihu.core import Database, FrozenClock
from taihu.identifiers import BatchService, HandleRow, HandleValue, StatsDaily
from taihu.identifiers.models import HandleChange
from taihu.identifiers.records import load_record
from taihu.identifiers.registration.batch import BatchItem, ItemCode
from tests.identifiers.conftest import PREFIX

pytestmark = pytest.mark.usefixtures("templates")

ACTOR = Principal.system("batch-test")


def _item(suffix: str, model: str = "HL-2000", **extra: str) -> BatchItem:
    values = [
        HandleValue(1, "URL", f"https://lift.example/{suffix}".encode()),
        HandleValue(2, "model", model.encode()),
    ]
    values += [HandleValue(10 + n, k, v.encode()) for n, (k, v) in enumerate(extra.items())]
    return BatchItem(f"{PREFIX}/{suffix}", values)


def _templated(suffix: str, **items: str) -> BatchItem:
    fields = {"manufacturer": "恒立电梯", "model": "HL-2000", "batch": "B1",
              "productionDate": "2026-03-14", "serialNumber": "SN0001", "ratedLoadKg": "1000",
              **items}  # fmt: skip
    values = [HandleValue(2000 + n, k, v.encode()) for n, (k, v) in enumerate(fields.items()) if v]
    values.append(HandleValue(1001, "TEMPLATE", b"elevator-1.0"))
    return BatchItem(f"{PREFIX}/{suffix}", values)


async def _write(
    db: Database, clock: FrozenClock, items: list[BatchItem]
) -> list[tuple[str, ItemCode, str]]:
    async with db.session() as session:
        results = await BatchService(session, clock).write(ACTOR, items, update=False)
    return [(r.handle, r.code, r.msg) for r in results]


async def _registered(db: Database) -> int:
    async with db.session() as session:
        count = await session.scalar(
            sa.select(sa.func.sum(StatsDaily.registrations)).where(StatsDaily.prefix == PREFIX)
        )
    return int(count or 0)


async def _rows(db: Database, table: type[object], column: str, like: str) -> int:
    async with db.session() as session:
        count = await session.scalar(
            sa.select(sa.func.count()).select_from(table).where(getattr(table, column).like(like))
        )
    return int(count or 0)


async def test_mixed_batch_reports_each_item_and_writes_only_the_new(
    db: Database, clock: FrozenClock
) -> None:
    registered_before = await _registered(db)
    assert await _write(db, clock, [_item("M1"), _item("M2")]) == [
        (f"{PREFIX}/M1", ItemCode.OK, "success"),
        (f"{PREFIX}/M2", ItemCode.OK, "success"),
    ]
    mixed = [
        _item("M3"),  # new
        _item("M1"),  # the same values again: a re-sent batch
        _item("M2", model="HL-3000"),  # exists with other values
        _templated("M4", model=""),  # breaks its template
        _item("M3"),  # twice in this batch
        BatchItem("no-slash", [HandleValue(1, "URL", b"x")]),
        _templated("M5"),  # new, template satisfied
    ]
    results = await _write(db, clock, mixed)
    assert [(handle, code) for handle, code, _ in results] == [
        (f"{PREFIX}/M3", ItemCode.OK),
        (f"{PREFIX}/M1", ItemCode.EXISTS_SAME),
        (f"{PREFIX}/M2", ItemCode.EXISTS_DIFFERENT),
        (f"{PREFIX}/M4", ItemCode.INVALID_VALUE),
        (f"{PREFIX}/M3", ItemCode.INVALID_VALUE),
        ("no-slash", ItemCode.INVALID_HANDLE),
        (f"{PREFIX}/M5", ItemCode.OK),
    ]
    assert "item 'model'" in results[3][2]
    assert results[4][2] == "the handle appears twice in this batch"
    async with db.session() as session:
        rows = {
            row.key: row
            for row in await session.scalars(
                sa.select(HandleRow).where(HandleRow.key.like(f"{PREFIX}/M%"))
            )
        }
        audits = list(
            await session.scalars(
                sa.select(AuditEntry)
                .where(AuditEntry.entity_id.like(f"{PREFIX}/M%"))
                .order_by(AuditEntry.id)
            )
        )
        changes = list(
            await session.scalars(
                sa.select(HandleChange.key).where(HandleChange.key.like(f"{PREFIX}/M%"))
            )
        )
    assert sorted(rows) == [f"{PREFIX}/M{n}" for n in (1, 2, 3, 5)]
    new = rows[f"{PREFIX}/M3"]
    assert (new.created_at, new.updated_at, new.template) == (clock.now(), clock.now(), None)
    # Stored exactly as the ORM stores a time (the admin handle was written by it, same moment).
    async with db.session() as session:
        stored = sa.cast(sa.column("created_at"), sa.Text)
        texts = set(
            await session.scalars(
                sa.select(stored).select_from(sa.table("id_handles"))
                .where(sa.column("key").in_([f"{PREFIX}/ADMIN", f"{PREFIX}/M3"]))
            )
        )  # fmt: skip
    assert len(texts) == 1
    # An audit row's missing "before" is stored as the ORM stores it (the prefix's own entry).
    async with db.session() as session:
        before = sa.cast(sa.column("before"), sa.Text)
        befores = list(
            await session.scalars(
                sa.select(before).select_from(sa.table("audit_log"))
                .where(sa.column("entity_id").in_([PREFIX, f"{PREFIX}/M3"]))
            )
        )  # fmt: skip
    assert len(befores) == 2
    assert befores[0] == befores[1]
    assert rows[f"{PREFIX}/M5"].template == "elevator-1.0"
    assert [v.type for v in load_record(new.record)] == ["URL", "model", "HS_ADMIN"]
    assert load_record(rows[f"{PREFIX}/M2"].record)[1].data == b"HL-2000"  # left as it was
    # One audit row and one change-log row per identifier written, with the stored values.
    assert [(a.entity_id, a.action) for a in audits] == [
        (f"{PREFIX}/M{n}", "handle.create") for n in (1, 2, 3, 5)
    ]
    third = audits[2]
    assert (third.at, third.actor, third.entity_type, third.before) == (
        clock.now(), "batch-test", "handle", None,
    )  # fmt: skip
    assert third.after == {"values": orjson.loads(new.record)}
    assert sorted(changes) == sorted(rows)
    assert await _registered(db) == registered_before + 4


class _RacedBatch(BatchService):
    """A batch that reads the existing rows before another writer added one of its keys."""

    async def _existing(self, keys: list[str]) -> dict[str, tuple[int, str]]:
        found = await super()._existing(keys)
        found.pop(f"{PREFIX}/R-LAST", None)
        return found


async def test_a_failure_mid_batch_leaves_nothing_written(db: Database, clock: FrozenClock) -> None:
    assert (await _write(db, clock, [_item("R-LAST")]))[0][1] == ItemCode.OK
    audits_before = await _rows(db, AuditEntry, "entity_id", f"{PREFIX}/R-%")
    registered_before = await _registered(db)
    items = [_item(f"R-{n:04d}") for n in range(300)] + [_item("R-LAST", model="HL-9")]
    with pytest.raises(sa.exc.IntegrityError):
        async with db.session() as session:
            await _RacedBatch(session, clock).write(ACTOR, items, update=False)
    assert await _rows(db, HandleRow, "key", f"{PREFIX}/R-%") == 1
    assert await _rows(db, AuditEntry, "entity_id", f"{PREFIX}/R-%") == audits_before
    assert await _rows(db, HandleChange, "key", f"{PREFIX}/R-%") == 1
    async with db.session() as session:
        last = await session.scalar(
            sa.select(HandleRow.record).where(HandleRow.key == f"{PREFIX}/R-LAST")
        )
    assert await _registered(db) == registered_before
    assert last is not None
    assert load_record(last)[1].data == b"HL-2000"
    # Re-sent, the batch goes through and the item written by the "other writer" stands.
    codes = [code for _, code, _ in await _write(db, clock, items)]
    assert codes == [ItemCode.OK] * 300 + [ItemCode.EXISTS_DIFFERENT]
