"""Two ingest processes raising the same alarms at once: one active alarm each, counts merged.

Each process has its own engine (its own state in memory) on the test's database (SQLite file
or PostgreSQL); they read the devices in opposite orders, so without the unique index's order
their INSERTs would wait for each other crosswise.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import sqlalchemy as sa

from taihu.accounts import Principal
from taihu.alarms import Alarm, AlarmEvent, AlarmService
from taihu.core import Database
from taihu.devices import DeviceService
from tests.conftest import CODE_A, World
from tests.processes import Taihu

SYSTEM = Principal.system("test")
ROOT = Path(__file__).resolve().parents[2]
DEVICES, READINGS = 40, 3
RULES = [
    {"name": name, "kind": "threshold", "key": "t", "severity": "major",
     "spec": {"op": ">", "value": limit}}
    for name, limit in (("hot", 80), ("warm", 50))
]  # fmt: skip


def _engine(stack: ExitStack, database_url: str, order: str) -> Taihu:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAIHU_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.alarms.engine_process", database_url, order, str(READINGS)],
        env={**env, "PYTHONUNBUFFERED": "1"},
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    stack.enter_context(process)  # its pipes closed at the end
    engine = Taihu(process)
    stack.callback(engine.finish)  # first: the process group ended for sure
    return engine


async def test_two_engine_processes_raise_one_alarm_per_device_and_rule(
    db: Database, world: World, database_url: str
) -> None:
    enterprise = await world.enterprise("甲厂", CODE_A)
    async with db.session() as session:
        registry = DeviceService(session, world.clock)
        devices = [
            (await registry.create(SYSTEM, enterprise.id, f"meter-{n}")).device
            for n in range(DEVICES)
        ]
        rules = AlarmService(session, world.clock)
        for rule in RULES:
            await rules.create_rule(SYSTEM, profile_id=devices[0].profile_id, **rule)
    with ExitStack() as stack:
        engines = [_engine(stack, database_url, order) for order in ("up", "down")]
        for engine in engines:
            await asyncio.to_thread(engine.wait_for, "^ready")
        for engine in engines:  # both loaded: now at once
            assert engine.process.stdin is not None
            engine.process.stdin.write("go\n")
            engine.process.stdin.flush()
        for engine in engines:
            await asyncio.to_thread(engine.wait_for, "^done")
            assert await asyncio.to_thread(engine.process.wait) == 0, engine.output
    for engine in engines:
        assert "Traceback" not in engine.output, engine.output
    async with db.session() as session:
        alarms = list(await session.scalars(sa.select(Alarm)))
        created = Counter(
            await session.scalars(
                sa.select(AlarmEvent.alarm_id).where(AlarmEvent.kind == "created")
            )
        )
    pairs = Counter((a.device_id, a.rule_id) for a in alarms)
    assert len(pairs) == DEVICES * len(RULES)
    assert set(pairs.values()) == {1}  # never a second alarm of a (device, rule)
    assert all(a.cleared_at is None for a in alarms)
    # Each process counted its readings into the one alarm, whichever raised it.
    assert {a.count for a in alarms} == {2 * READINGS}
    assert created == Counter({a.id: 1 for a in alarms})  # one "created" each, one notice
