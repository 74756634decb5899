"""The alarm engine's writes: raises, clears, escalations, presence and counters in batches.

Each writer returns what it changed as ``Change`` records, which the engine hands to the
notification outbox in the same transaction (``notifications.enqueue``): a transition and its
notifications are written together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from taihu.alarms.models import ACTIVE, Alarm, AlarmEvent, DevicePresence, PresenceEvent
from taihu.alarms.rules import CompiledRule
from taihu.core import UTCDateTime

__all__ = [
    "Change",
    "Live",
    "write_clear",
    "write_counts",
    "write_escalate",
    "write_presence",
    "write_raises",
]

# PostgreSQL advisory lock taken by every transaction that writes transitions ("taihuALM").
WRITER_LOCK = 0x7461_6968_7541_4C4D


@dataclass(slots=True)
class Live:
    """An active alarm as the engine holds it; its id is known once written."""

    device_id: int
    rule: CompiledRule
    started: datetime
    value: float | None
    alarm_id: int | None = None
    first: float | None = None  # the reading that raised it
    delta: int = 0  # readings counted since the last write
    escalated: bool = False
    dirty: bool = False


@dataclass(frozen=True, slots=True)
class Change:
    """A written transition of an alarm: what notifications are made of."""

    kind: str  # created | escalated | cleared
    alarm_id: int
    device_id: int
    enterprise_id: int
    name: str
    severity: str
    value: float | None
    at: datetime


async def _one_writer(session: Any) -> None:
    """On PostgreSQL, wait until no other process writes transitions (once per transaction).

    Engines of several processes write the same alarms and presence rows in the orders their
    readings came in, a flush's kinds interleaved; row locks taken in different orders deadlock.
    Taken first in each transaction, this lock serializes their flushes as SQLite's write lock
    does (a flush is a few statements, once per flush interval per process).
    """
    if session.bind.dialect.name != "postgresql":
        return
    transaction = session.sync_session.get_transaction()
    if transaction is not None and session.info.get("alarm_writer") is transaction:
        return
    await session.execute(sa.select(sa.func.pg_advisory_xact_lock(WRITER_LOCK)))
    session.info["alarm_writer"] = session.sync_session.get_transaction()


def _insert(session: Any) -> Any:
    dialect = session.bind.dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert


def _mark(live: Live, dirty: list[Live]) -> None:
    if not live.dirty:
        live.dirty = True
        dirty.append(live)


# The tables, not the mapped classes: plain executemany statements without the ORM's bulk path.
_ALARMS = cast("sa.Table", Alarm.__table__)
_EVENTS = cast("sa.Table", AlarmEvent.__table__)
_PRESENCE = cast("sa.Table", DevicePresence.__table__)
_PRESENCE_EVENTS = cast("sa.Table", PresenceEvent.__table__)
_RAISES: dict[str, Any] = {}  # dialect name -> the INSERT of new alarms


def _raise_statement(session: Any) -> Any:
    """The INSERT of new alarms for ``session``'s dialect, built once and reused.

    One row's statement over an executemany: SQLAlchemy compiles it once and sends the rows
    in multi-row batches ("insertmanyvalues"); a statement of many VALUES rows would be compiled
    anew for every flush (it was 15-20 % of the ingest's CPU with alarms raised at speed).
    """
    dialect = session.bind.dialect.name
    statement = _RAISES.get(dialect)
    if statement is None:
        statement = _RAISES[dialect] = (
            _insert(session)(_ALARMS)
            .on_conflict_do_nothing(index_elements=["device_id", "rule_id"], index_where=ACTIVE)
            .returning(_ALARMS.c.id, _ALARMS.c.device_id, _ALARMS.c.rule_id)
        )
    return statement


async def write_raises(
    session: Any, lives: list[Live], enterprise_of: dict[int, int], dirty: list[Live]
) -> list[Change]:
    """New alarms in one executemany; one already active (another process's) is adopted."""
    if not lives:
        return []
    await _one_writer(session)
    # In key order: processes raising the same alarms then take the unique index's entries in
    # one order, and wait for each other instead of deadlocking (PostgreSQL).
    return await _write_raises(
        session, sorted(lives, key=lambda live: (live.device_id, live.rule.id)), enterprise_of,
        dirty,
    )  # fmt: skip


async def _write_raises(
    session: Any,
    lives: list[Live],
    enterprise_of: dict[int, int],
    dirty: list[Live],
    retries: int = 3,
) -> list[Change]:
    rows = [
        {
            "device_id": live.device_id, "rule_id": live.rule.id, "name": live.rule.name,
            "severity": live.rule.severity, "enterprise_id": enterprise_of.get(live.device_id, 0),
            "key": live.rule.key, "started_at": live.started, "updated_at": live.started,
            "count": 1, "first_value": live.first, "last_value": live.value, "escalated": False,
        }
        for live in lives
    ]  # fmt: skip
    made = {(d, r): i for i, d, r in await session.execute(_raise_statement(session), rows)}
    events, changes, again = [], [], []
    for live in lives:
        alarm_id = made.get((live.device_id, live.rule.id))
        if alarm_id is None:  # another process has it active: adopt it, count this one
            alarm_id = await session.scalar(
                sa.select(Alarm.id).where(
                    Alarm.device_id == live.device_id, Alarm.rule_id == live.rule.id, ACTIVE
                )
            )
            if alarm_id is None:  # cleared (PostgreSQL: committed) in between: raise it anew
                again.append(live)
                continue
            live.delta += 1
            _mark(live, dirty)
        else:
            events.append(
                {"alarm_id": alarm_id, "at": live.started, "kind": "created",
                 "severity": live.rule.severity, "value": live.first}
            )  # fmt: skip
            changes.append(
                Change("created", alarm_id, live.device_id, enterprise_of.get(live.device_id, 0),
                       live.rule.name, live.rule.severity, live.first, live.started)
            )  # fmt: skip
        live.alarm_id = alarm_id
    if events:
        await session.execute(sa.insert(_EVENTS), events)
    if again and retries:
        changes += await _write_raises(session, again, enterprise_of, dirty, retries - 1)
    return changes


async def write_clear(
    session: Any, live: Live, at: datetime, enterprise_of: dict[int, int]
) -> list[Change]:
    """Clear an alarm by its rule (unless a person cleared it first)."""
    if live.alarm_id is None:
        return []
    await _one_writer(session)
    result = await session.execute(
        sa.update(Alarm)
        .where(Alarm.id == live.alarm_id, ACTIVE)
        .values(cleared_at=at, updated_at=at, last_value=live.value, count=Alarm.count + live.delta)
    )
    live.delta = 0
    if not result.rowcount:
        return []
    severity = live.rule.escalate_to if live.escalated else live.rule.severity
    session.add(
        AlarmEvent(
            alarm_id=live.alarm_id, at=at, kind="cleared", severity=severity, value=live.value
        )
    )
    enterprise = enterprise_of.get(live.device_id, 0)
    return [
        Change("cleared", live.alarm_id, live.device_id, enterprise, live.rule.name, severity,
               live.value, at)
    ]  # fmt: skip


async def write_escalate(
    session: Any, live: Live, at: datetime, enterprise_of: dict[int, int]
) -> list[Change]:
    """Give an alarm still active its rule's escalated severity (once)."""
    if live.alarm_id is None:
        return []
    await _one_writer(session)
    severity = live.rule.escalate_to
    result = await session.execute(
        sa.update(Alarm)
        .where(Alarm.id == live.alarm_id, ACTIVE, ~Alarm.escalated)
        .values(severity=severity, escalated=True, updated_at=at)
    )
    if not result.rowcount:
        return []
    session.add(
        AlarmEvent(
            alarm_id=live.alarm_id, at=at, kind="escalated", severity=severity, value=live.value
        )
    )
    enterprise = enterprise_of.get(live.device_id, 0)
    return [
        Change("escalated", live.alarm_id, live.device_id, enterprise, live.rule.name, severity,
               live.value, at)
    ]  # fmt: skip


async def write_presence(session: Any, ops: list[tuple[Any, ...]]) -> None:
    """Presence changes: each device's newest state, and every change in its history."""
    await _one_writer(session)
    latest = {device_id: (state, at) for _, device_id, state, at in ops}
    statement = _insert(session)(_PRESENCE)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["device_id"],
            set_={"state": statement.excluded.state, "since": statement.excluded.since},
        ),
        [{"device_id": d, "state": s, "since": at} for d, (s, at) in latest.items()],
    )
    await session.execute(
        sa.insert(_PRESENCE_EVENTS),
        [{"device_id": d, "state": s, "at": at} for _, d, s, at in ops],
    )


async def write_counts(session: Any, dirty: list[Live], now: datetime) -> None:
    """The counters and last values of active alarms, one executemany."""
    counted: list[tuple[int, Live, int]] = []
    for live in dirty:
        if live.dirty and live.alarm_id is not None:
            counted.append((live.alarm_id, live, live.delta))
        live.dirty = False
    if counted:
        await _one_writer(session)
        counted.sort(key=lambda c: c[0])  # rows locked in one order, whoever writes
        params = [
            {"b_id": i, "b_delta": delta, "b_value": live.value} for i, live, delta in counted
        ]
        # The table itself, not the mapped class: an executemany of one UPDATE per alarm.
        table = sa.table(
            "alarms", sa.column("id", sa.Integer), sa.column("count", sa.Integer),
            sa.column("last_value", sa.Float), sa.column("updated_at", UTCDateTime()),
            sa.column("cleared_at", UTCDateTime()),
        )  # fmt: skip
        await session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"), table.c.cleared_at.is_(None))
            .values(
                count=table.c.count + sa.bindparam("b_delta"),
                last_value=sa.bindparam("b_value"),
                updated_at=now,
            ),
            params,
        )
        # Only once written (a refused UPDATE keeps them for the next time the alarm is
        # counted), and less what arrived during the write.
        for _, live, delta in counted:
            live.delta -= delta
