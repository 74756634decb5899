"""Store-and-forward: every reading is committed to SQLite (WAL) before it is sent.

A reading leaves the buffer only when the hub has acknowledged it (PUBACK) or when a bound
drops it; drops are counted by cause in the same transaction. Row ids only grow
(AUTOINCREMENT), so the sender's cursor never skips a reading appended after a delete, and the
oldest readings are always first. A committed transaction survives ``kill -9`` of the process
in both synchronous modes; ``full`` also survives losing power.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

__all__ = ["Buffer", "BufferStats", "Row", "read_status"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device TEXT NOT NULL,
    ts INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS status (id INTEGER PRIMARY KEY CHECK (id = 1), document TEXT NOT NULL);
"""
COUNTERS = ("appended", "sent", "dropped_full", "dropped_newest", "dropped_age", "rejected")


@dataclass(frozen=True, slots=True)
class Row:
    """A buffered reading."""

    id: int
    device: str
    ts: int
    key: str
    value: str  # JSON text of the value


@dataclass(frozen=True, slots=True)
class BufferStats:
    """Depth, age of the oldest reading and the counters since the buffer was created."""

    depth: int
    oldest_ts: int | None
    counters: dict[str, int]

    def as_dict(self, now_ms: int) -> dict[str, Any]:
        """For the status document."""
        age = (now_ms - self.oldest_ts) / 1000 if self.oldest_ts is not None else 0.0
        dropped = sum(v for k, v in self.counters.items() if k.startswith("dropped"))
        dropped += self.counters.get("rejected", 0)
        return {"depth": self.depth, "oldest_age_s": round(max(age, 0.0), 3),
                "dropped": dropped, **self.counters}  # fmt: skip


class Buffer:
    """The buffer database of one gateway; used from one thread (the gateway's event loop)."""

    def __init__(
        self,
        path: Path,
        *,
        max_readings: int = 10_000_000,
        max_age_s: float = 7 * 86400.0,
        drop: str = "oldest",
        synchronous: str = "normal",
    ) -> None:
        self.path = path
        self.max_readings = max_readings
        self.max_age_ms = int(max_age_s * 1000)
        self.drop = drop
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={'FULL' if synchronous == 'full' else 'NORMAL'}")
        self.db.executescript(_SCHEMA)
        self.db.executemany(
            "INSERT OR IGNORE INTO counters (name, value) VALUES (?, 0)", [(c,) for c in COUNTERS]
        )
        (self.depth,) = self.db.execute("SELECT COUNT(*) FROM readings").fetchone()

    def close(self) -> None:
        """Close the database (everything is committed already)."""
        self.db.close()

    def _count(self, name: str, n: int) -> None:
        if n:
            self.db.execute("UPDATE counters SET value = value + ? WHERE name = ?", (n, name))

    def append(self, readings: Sequence[tuple[str, int, str, Any]]) -> int:
        """Commit (device, ts, key, value) readings; returns how many the bound dropped."""
        rows = [(d, ts, k, orjson.dumps(v).decode()) for d, ts, k, v in readings]
        if not rows:
            return 0
        dropped = deleted = 0
        self.db.execute("BEGIN IMMEDIATE")
        try:
            overflow = self.depth + len(rows) - self.max_readings
            if overflow > 0 and self.drop == "newest":
                dropped = min(overflow, len(rows))
                rows = rows[: len(rows) - dropped]
                self._count("dropped_newest", dropped)
            elif overflow > 0:
                deleted = self._delete_head(min(overflow, self.depth))
                # A batch larger than the whole bound loses its own oldest readings too.
                excess = max(0, len(rows) - self.max_readings)
                rows = rows[excess:]
                dropped = deleted + excess
                self._count("dropped_full", dropped)
            self.db.executemany(
                "INSERT INTO readings (device, ts, key, value) VALUES (?, ?, ?, ?)", rows
            )
            self._count("appended", len(rows))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.depth += len(rows) - deleted
        return dropped

    def _delete_head(self, n: int) -> int:
        cursor = self.db.execute(
            "DELETE FROM readings WHERE id IN (SELECT id FROM readings ORDER BY id LIMIT ?)", (n,)
        )
        return cursor.rowcount

    def head(self, after: int, limit: int) -> list[Row]:
        """The oldest readings with an id above ``after``."""
        cursor = self.db.execute(
            "SELECT id, device, ts, key, value FROM readings WHERE id > ? ORDER BY id LIMIT ?",
            (after, limit),
        )
        return [Row(*r) for r in cursor.fetchall()]

    def ack(self, ids: Sequence[int], counter: str = "sent") -> None:
        """The hub stored these readings: delete them and count them as sent."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            deleted = 0
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                deleted += self.db.execute(
                    f"DELETE FROM readings WHERE id IN ({marks})",  # noqa: S608 - only marks
                    chunk,
                ).rowcount
            self._count(counter, deleted)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.depth -= deleted

    def ack_rejected(self, ids: Sequence[int]) -> None:
        """The hub refused these readings for good: delete them and count them as rejected."""
        self.ack(ids, "rejected")

    def expire(self, now_ms: int | None = None) -> int:
        """Drop readings older than ``max_age`` from the head; returns how many."""
        cutoff = (now_ms if now_ms is not None else int(time.time() * 1000)) - self.max_age_ms
        self.db.execute("BEGIN IMMEDIATE")
        try:
            # Readings are appended in time order, so the old ones are at the head.
            (last,) = self.db.execute(
                "SELECT MAX(id) FROM (SELECT id, ts FROM readings ORDER BY id LIMIT 100000)"
                " WHERE ts < ?",
                (cutoff,),
            ).fetchone()
            dropped = 0
            if last is not None:
                dropped = self.db.execute(
                    "DELETE FROM readings WHERE id <= ? AND ts < ?", (last, cutoff)
                ).rowcount
            self._count("dropped_age", dropped)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.depth -= dropped
        return dropped

    def stats(self) -> BufferStats:
        """Depth, oldest reading and counters."""
        oldest = self.db.execute("SELECT ts FROM readings ORDER BY id LIMIT 1").fetchone()
        counters = dict(self.db.execute("SELECT name, value FROM counters").fetchall())
        return BufferStats(self.depth, oldest[0] if oldest else None, counters)

    def save_status(self, document: dict[str, Any]) -> None:
        """Keep the gateway's latest status where `taihu edge status` can read it."""
        self.db.execute(
            "INSERT OR REPLACE INTO status (id, document) VALUES (1, ?)",
            (orjson.dumps(document).decode(),),
        )


def read_status(path: Path) -> dict[str, Any]:
    """The buffer's counters and the last saved status, read-only (the gateway may be running)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (depth,) = db.execute("SELECT COUNT(*) FROM readings").fetchone()
        oldest = db.execute("SELECT ts FROM readings ORDER BY id LIMIT 1").fetchone()
        counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
        saved = db.execute("SELECT document FROM status WHERE id = 1").fetchone()
    finally:
        db.close()
    stats = BufferStats(depth, oldest[0] if oldest else None, counters)
    document: dict[str, Any] = orjson.loads(saved[0]) if saved else {}
    document["buffer"] = stats.as_dict(int(time.time() * 1000))
    return document
