"""An ingest process's alarm engine alone in a process: `python -m tests.alarms.engine_process`.

Arguments: the database URL, `up` or `down` (the order it reads the devices in) and how many
readings of each device it is fed. It prints `ready` once its rules are loaded, waits for a line
on stdin, is fed every reading (all over every rule's threshold), writes until nothing is
pending and prints `done`.
"""

from __future__ import annotations

import asyncio
import sys
import time

from taihu.alarms import AlarmEngine
from taihu.core import Database

__all__ = ["main"]


async def main(url: str, order: str, readings: int) -> None:
    """Load, wait for the word, raise every alarm, write it all."""
    db = Database(url)
    try:
        engine = AlarmEngine(db)
        await engine.load()
        devices = sorted(engine.value_rules, reverse=order == "down")
        print("ready", flush=True)  # noqa: T201 - the test reads it
        await asyncio.to_thread(sys.stdin.readline)
        now = int(time.time() * 1000)
        for n in range(readings):
            engine.stored([(d, "t", now + n, 2, 95.0, None) for d in devices])
        # A refused write (SQLite's lock past its busy timeout) stays pending for the next.
        for _ in range(50):
            await engine.flush()
            if not engine._pending and not engine._dirty:  # a test's probe of its state
                break
        print("done", flush=True)  # noqa: T201
    finally:
        await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
