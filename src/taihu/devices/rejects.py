"""The record of refused device messages: per device a count by reason and the last few.

    hub / HTTP device API ──record()──► memory: counts, last few per device ──every second──► DB
                            │                                              (one transaction:
                            └─► Prometheus taihu_device_rejects_total      counts added, rows
                                {reason, transport}                        inserted, older trimmed)

Refusals come in bursts (a device stuck on bad data), on the ingest path: ``record`` only
touches memory, bounded by the number of devices times ``KEEP``; a background job writes. A
reason is a code (``malformed``, ``rate_limited`` …); the detail is a ``Message`` (a message id
and its values), stored as such (``detail`` and ``params``) so that the console and the API show
it in the reader's language. The device itself was told its English rendering (MQTT 5 reason
string, HTTP error message). The message is built by whoever refuses, on the refusal path only.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter as PromCounter
from sqlalchemy.dialects import postgresql, sqlite

from taihu.core import Database, Message, PeriodicJob
from taihu.devices.models import Device, DeviceReject, DeviceRejectCount

__all__ = ["KEEP", "REASONS", "Reject", "RejectLog", "reject_summary"]

log = logging.getLogger("taihu.devices.rejects")

KEEP = 20  # refusals kept per device
FLUSH_EVERY = 1.0  # seconds between writes of the record
# Why a message was refused: permanent ones are acknowledged and dropped on MQTT 3.1.1,
# transient ones are not (the client sends them again). See docs/devices.md.
REASONS = {
    "malformed": "permanent",  # not JSON, or not a shape of the device API (0x99)
    "topic": "permanent",  # not a topic of the device API (0x90)
    "too_large": "permanent",  # over the maximum packet size (HTTP 413, MQTT 5 PUBACK 0x97)
    "not_authorized": "permanent",  # a gateway item for a device it does not own (0x87)
    "too_many_points": "permanent",  # more points than the data point limit ever allows (0x97)
    "internal": "permanent",  # the hub failed on it; logged with a traceback (0x83)
    "rate_limited": "transient",  # over the message or data point rate limit (0x97)
    "not_stored": "transient",  # the store is unavailable (0x83)
}
REJECTS = PromCounter(
    "taihu_device_rejects_total", "Device messages refused", ["reason", "transport"]
)
_COUNTERS: dict[tuple[str, str], Any] = {}
_DETAIL = 500
_PARAM = 200  # characters kept of a text value (a key, a parser's error) in a stored message


@dataclass(frozen=True, slots=True)
class Reject:
    """One refused message."""

    at: datetime
    reason: str
    code: int
    transport: str
    topic: str
    detail: Message


@dataclass(slots=True)
class _Pending:
    counts: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    recent: deque[Reject] = field(default_factory=lambda: deque(maxlen=KEEP))


class RejectLog:
    """Refusals held in memory and written to the database off the ingest path."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: dict[int, _Pending] = {}
        self._stopped = False
        self._job = PeriodicJob("taihu-device-rejects", self.flush, FLUSH_EVERY,
                                first_after=FLUSH_EVERY)  # fmt: skip

    def record(
        self, device_id: int, reason: str, code: int, detail: Message, *,
        transport: str = "mqtt", topic: str = "",
    ) -> None:  # fmt: skip
        """Count a refusal; it reaches the database within about a second."""
        assert reason in REASONS, reason
        counter = _COUNTERS.get((reason, transport))
        if counter is None:  # labels() takes a lock and builds a key: looked up once
            counter = _COUNTERS[(reason, transport)] = REJECTS.labels(reason, transport)
        counter.inc()
        if not self._job.running and not self._stopped:
            self._job.start()  # by the first refusal, in whichever process serves devices
        now = datetime.now(UTC)
        pending = self._pending.get(device_id)
        if pending is None:
            pending = self._pending[device_id] = _Pending()
        count, _ = pending.counts.get(reason, (0, now))
        pending.counts[reason] = (count + 1, now)
        pending.recent.append(Reject(now, reason, code, transport, topic[:255], detail))

    async def stop(self) -> None:
        """Stop the writer and write what is left."""
        self._stopped = True
        await self._job.stop()
        await self.flush()

    async def flush(self) -> None:
        """Write what was recorded since the last write, in one transaction."""
        if not self._pending:
            return
        taken, self._pending = self._pending, {}
        try:
            await self._write(taken)
        except Exception:
            # Put it back (merged with what came meanwhile) for the next round.
            for device_id, pending in taken.items():
                self._merge(device_id, pending)
            raise

    def _merge(self, device_id: int, old: _Pending) -> None:
        new = self._pending.setdefault(device_id, _Pending())
        for reason, (count, at) in old.counts.items():
            now_count, now_at = new.counts.get(reason, (0, at))
            new.counts[reason] = (count + now_count, max(at, now_at))
        new.recent.extendleft(reversed([r for r in old.recent if r not in new.recent]))

    async def _write(self, taken: dict[int, _Pending]) -> None:
        async with self.db.session() as session:
            # A device deleted since its refusal has no record to keep.
            found = await session.scalars(sa.select(Device.id).where(Device.id.in_(taken)))
            alive = set(found)
            counts = [
                {"device_id": d, "reason": reason, "count": n, "last_at": at}
                for d, pending in taken.items() if d in alive
                for reason, (n, at) in pending.counts.items()
            ]  # fmt: skip
            rows = [
                {"device_id": d, "at": r.at, "reason": r.reason, "code": r.code,
                 "transport": r.transport, "topic": r.topic, **_stored(r.detail)}
                for d, pending in taken.items() if d in alive
                for r in pending.recent
            ]  # fmt: skip
            if not counts:
                return
            await session.execute(self._upsert_counts(), counts)
            await session.execute(sa.insert(DeviceReject), rows)
            for device_id in alive:
                kept = (
                    sa.select(DeviceReject.id).where(DeviceReject.device_id == device_id)
                    .order_by(DeviceReject.id.desc()).limit(KEEP)
                )  # fmt: skip
                await session.execute(
                    sa.delete(DeviceReject)
                    .execution_options(synchronize_session=False)
                    .where(DeviceReject.device_id == device_id, DeviceReject.id.not_in(kept))
                )

    def _upsert_counts(self) -> Any:
        insert = postgresql.insert if self.db.dialect == "postgresql" else sqlite.insert
        statement = insert(DeviceRejectCount)
        return statement.on_conflict_do_update(
            index_elements=["device_id", "reason"],
            set_={
                "count": DeviceRejectCount.count + statement.excluded.count,
                "last_at": statement.excluded.last_at,
            },
        )


def _stored(detail: Message) -> dict[str, Any]:
    """A message as two columns: its id and its values (text values bounded, all as JSON)."""
    params = {
        key: value if isinstance(value, int | float | bool) or value is None
        else str(value)[:_PARAM]
        for key, value in detail.params.items()
    }  # fmt: skip
    return {"detail": detail.id[:_DETAIL], "params": params}


def _message(detail: str, params: dict[str, Any] | None) -> Message:
    """A stored detail back as a message; rows from before messages were kept are plain text."""
    return Message(detail, **(params or {}))


async def reject_summary(session: Any, device_id: int) -> dict[str, Any]:
    """``{"total", "by_reason": {reason: {count, last_at}}, "recent": [Reject, newest first]}``."""
    counts = await session.scalars(
        sa.select(DeviceRejectCount).where(DeviceRejectCount.device_id == device_id)
    )
    by_reason = {c.reason: {"count": c.count, "last_at": c.last_at} for c in counts}
    recent = await session.scalars(
        sa.select(DeviceReject).where(DeviceReject.device_id == device_id)
        .order_by(DeviceReject.id.desc()).limit(KEEP)
    )  # fmt: skip
    return {
        "total": sum(c["count"] for c in by_reason.values()),
        "by_reason": by_reason,
        "recent": [
            Reject(r.at, r.reason, r.code, r.transport, r.topic, _message(r.detail, r.params))
            for r in recent
        ],
    }
