"""The alarm engine: rules evaluated on stored data in memory, transitions written in batches.

    hub ──stored(device, rows)──► state per (device, rule) in memory ──► pending transitions
        ──connected/disconnected─► presence per device                   │ every flush_interval
    tick (every tick_interval): silence, escalation, inactivity           ▼ one transaction
                                (each profile's own timeout, else the setting)
    bus ──took(partition)──► its devices' presence and active alarms read from the database
        ──gave_back(partition)─► its devices forgotten, what is pending written

The hot path does no database or ORM work: the ingest queue hands over each batch it
committed, and the engine does a dict lookup per message for the device's rules and one per row
for the rules of its key. Only transitions (raise, clear, escalate, presence
changes) and the counters of active alarms (coalesced per alarm) are written. One active alarm
per (device, rule) holds across processes through the partial unique index ``uq_alarms_active``:
a process that finds another's alarm active adopts it.

Silence (``no_data``, inactivity) is judged only by the process that stores a device's data: in
one process every device, with a bus only the devices of the partitions this ingest process
holds. When a partition moves, the old holder forgets its devices and the new one counts their
silence from when it took the partition, with the presence and active alarms the database holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import InterfaceError, OperationalError

from taihu.alarms.models import ACTIVE, Alarm, AlarmRule, DevicePresence
from taihu.alarms.notifications import enqueue
from taihu.alarms.rules import CompiledRule, RuleState, compile_rule, evaluate
from taihu.alarms.transitions import (
    Change,
    Live,
    write_clear,
    write_counts,
    write_escalate,
    write_presence,
    write_raises,
)
from taihu.core import Clock, Database, PeriodicJob, SystemClock
from taihu.devices import Device, DeviceProfile, Row
from taihu.settings import AlarmSettings

__all__ = ["AlarmEngine", "Live"]

log = logging.getLogger("taihu.alarms")
CONNECTED, DISCONNECTED, INACTIVE = "connected", "disconnected", "inactive"


@dataclass(slots=True)
class _Slot:
    state: RuleState
    live: Live | None = None


class AlarmEngine:
    """Rule evaluation and device presence for one process (a ``HubObserver``)."""

    def __init__(
        self,
        db: Database,
        settings: AlarmSettings | None = None,
        *,
        clock: Clock | None = None,
        zone: ZoneInfo | None = None,
        sees_data: bool = True,
        partitions: int = 0,
    ) -> None:
        self.db = db
        # Whether this process stores device data (in one process, or with the ingest role on
        # a bus). One that does not must not judge silence: it would find every device silent.
        self.sees_data = sees_data
        # With a bus, its partitions (device id mod partitions): silence is judged only of the
        # devices of those held, whose data this process stores; 0: of every device.
        self.partitions = partitions
        self.held: set[int] = set()  # judged: taken, and their devices' state read
        self._unread: set[int] = set()  # taken, their state not read yet (the database away)
        self.settings = settings or AlarmSettings()
        self.clock = clock or SystemClock()
        self.zone = zone or ZoneInfo("Asia/Shanghai")
        # device -> key -> rules on readings; device -> silence rules
        self.value_rules: dict[int, dict[str, tuple[CompiledRule, ...]]] = {}
        self.silent_rules: dict[int, tuple[CompiledRule, ...]] = {}
        self.enterprise_of: dict[int, int] = {}
        self.slots: dict[tuple[int, int], _Slot] = {}
        self.presence: dict[int, str] = {}
        self.last_data: dict[int, float] = {}  # device -> seconds since the epoch
        # device -> its profile's inactivity timeout, where the profile has its own
        self.timeout_of: dict[int, float] = {}
        self._pending: list[tuple[Any, ...]] = []
        self._dirty: list[Live] = []
        # The ingest queue's write lock, when the assembly shares it (see IngestQueue).
        self.write_lock: asyncio.Lock | None = None
        self._counted = 0.0  # when counters were last written (monotonic)
        self._stale = False  # rules changed through this process: reload with the next flush
        self._flushing = asyncio.Lock()
        self._jobs = [
            PeriodicJob("taihu-alarm-flush", self._periodic_flush, self.settings.flush_interval),
            PeriodicJob(
                "taihu-alarm-tick",
                self.tick,
                self.settings.tick_interval,
                first_after=self.settings.tick_interval,
            ),
            PeriodicJob(
                "taihu-alarm-reload",
                self.reload,
                self.settings.reload_interval,
                first_after=self.settings.reload_interval,
            ),
        ]

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Load rules, active alarms and presence, then run the periodic jobs."""
        await self.load()
        for job in self._jobs:
            job.start()

    async def stop(self) -> None:
        """Stop the jobs and write what is pending."""
        for job in self._jobs:
            await job.stop()
        await self.flush()

    async def load(self) -> None:
        """Rules, the active alarms (so a restart raises no second one) and presence."""
        await self.reload()
        now = self.clock.now()
        async with self.db.session() as session:
            await self._adopt(session, ACTIVE)
            for device_id, state in await session.execute(
                sa.select(DevicePresence.device_id, DevicePresence.state)
            ):
                self.presence[device_id] = state
                # Silent since before the start: counted from the start.
                self.last_data.setdefault(device_id, now.timestamp())

    async def _adopt(self, session: Any, where: Any) -> None:
        """Take the active alarms ``where`` selects as this process's own."""
        for row in await session.execute(
            sa.select(
                Alarm.id,
                Alarm.device_id,
                Alarm.rule_id,
                Alarm.started_at,
                Alarm.last_value,
                Alarm.escalated,
            ).where(where)
        ):
            rule = self._rule(row.device_id, row.rule_id)
            if rule is None:
                continue
            slot = self._slot(row.device_id, rule.id)
            slot.state.active = True
            slot.live = Live(
                row.device_id,
                rule,
                row.started_at,
                row.last_value,
                alarm_id=row.id,
                escalated=row.escalated,
            )

    # -- partitions of the bus -----------------------------------------------------------------

    def judges(self, device_id: int) -> bool:
        """Whether this process judges the device's silence (it stores the device's data)."""
        return not self.partitions or device_id % self.partitions in self.held

    async def took(self, partition: int, partitions: int) -> None:
        """This process stores a partition's devices now: judge them from the database's state.

        Their presence and active alarms are read again (another process wrote them since), and
        their silence is counted from now, as from a start. Called before their data is stored.
        """
        self.partitions = partitions
        if partition in self.held or partition in self._unread:
            return  # taken again before it was given back: nothing was forgotten
        self._unread.add(partition)
        await self._read(partition)

    async def _read(self, partition: int) -> None:
        n = self.partitions
        mine = Alarm.device_id % n == partition
        try:
            async with self.db.session() as session:
                rows = list(
                    await session.execute(
                        sa.select(DevicePresence.device_id, DevicePresence.state).where(
                            DevicePresence.device_id % n == partition
                        )
                    )
                )
                self._forget_partition(partition)
                await self._adopt(session, sa.and_(ACTIVE, mine))
        except (OSError, OperationalError, InterfaceError) as exc:  # read again at the next tick
            log.warning("partition %d: presence and alarms not read yet: %s", partition, exc)
            return
        self._unread.discard(partition)
        self.held.add(partition)
        now = self.clock.now()
        now_ms = int(now.timestamp() * 1000)
        for device_id, state in rows:
            self.presence[device_id] = state
            self.last_data[device_id] = now.timestamp()
        for device_id, rules in self.silent_rules.items():
            if device_id % n == partition:
                for rule in rules:
                    self._slot(device_id, rule.id).state.last_seen_ms = now_ms

    async def gave_back(self, partition: int, partitions: int) -> None:
        """Another process stores the partition's devices now: forget them, write what is pending.

        Called once this process stored the last of their data it fetched, so that the next
        holder reads what this one concluded.
        """
        self.partitions = partitions
        self.held.discard(partition)
        self._unread.discard(partition)
        self._forget_partition(partition)
        await self.flush()

    def _forget_partition(self, partition: int) -> None:
        n = self.partitions
        for device_id in [d for d in self.last_data if d % n == partition]:
            del self.last_data[device_id]
        for device_id in [d for d in self.presence if d % n == partition]:
            del self.presence[device_id]
        # Changes already pending (raises, counts) are written all the same.
        for key in [k for k in self.slots if k[0] % n == partition]:
            del self.slots[key]

    def _rule(self, device_id: int, rule_id: int) -> CompiledRule | None:
        for rules in self.value_rules.get(device_id, {}).values():
            for rule in rules:
                if rule.id == rule_id:
                    return rule
        return next((r for r in self.silent_rules.get(device_id, ()) if r.id == rule_id), None)

    def _slot(self, device_id: int, rule_id: int) -> _Slot:
        slot = self.slots.get((device_id, rule_id))
        if slot is None:
            slot = self.slots[device_id, rule_id] = _Slot(RuleState())
        return slot

    async def reload(self) -> None:
        """Read the enabled rules and their devices; forget alarms cleared elsewhere.

        A device's own rule overrides its profile's rule of the same name.
        """
        async with self.db.session() as session:
            rules = list(await session.scalars(sa.select(AlarmRule).where(AlarmRule.enabled)))
            profiles = {r.profile_id for r in rules if r.profile_id is not None}
            owners = {r.device_id for r in rules if r.device_id is not None}
            devices = list(
                await session.execute(
                    sa.select(Device.id, Device.profile_id, Device.enterprise_id).where(
                        sa.or_(Device.profile_id.in_(profiles), Device.id.in_(owners))
                    )
                )
            )
            timeouts = await session.execute(
                sa.select(Device.id, DeviceProfile.inactivity_timeout)
                .join(DeviceProfile, DeviceProfile.id == Device.profile_id)
                .where(DeviceProfile.inactivity_timeout.is_not(None))
            )
            self.timeout_of = {d: float(s) for d, s in timeouts if s is not None}
            live_ids = [s.live.alarm_id for s in self.slots.values() if s.live and s.live.alarm_id]
            still: set[int] = set()
            for chunk in range(0, len(live_ids), 1000):
                still.update(
                    await session.scalars(
                        sa.select(Alarm.id).where(
                            Alarm.id.in_(live_ids[chunk : chunk + 1000]), ACTIVE
                        )
                    )
                )
        by_profile: dict[int, list[CompiledRule]] = {}
        by_device: dict[int, list[CompiledRule]] = {}
        for r in rules:
            compiled = compile_rule(r.id, r.name, r.kind, r.key, r.severity, r.spec)
            if r.profile_id is not None:
                by_profile.setdefault(r.profile_id, []).append(compiled)
            elif r.device_id is not None:
                by_device.setdefault(r.device_id, []).append(compiled)
        value_rules: dict[int, dict[str, tuple[CompiledRule, ...]]] = {}
        silent_rules: dict[int, tuple[CompiledRule, ...]] = {}
        now_ms = int(self.clock.now().timestamp() * 1000)
        for device_id, profile_id, enterprise_id in devices:
            self.enterprise_of[device_id] = enterprise_id
            own = by_device.get(device_id, [])
            names = {r.name for r in own}
            effective = own + [r for r in by_profile.get(profile_id, []) if r.name not in names]
            keyed: dict[str, list[CompiledRule]] = {}
            for rule in effective:
                if rule.kind != "no_data":
                    keyed.setdefault(rule.key, []).append(rule)
            if keyed:
                value_rules[device_id] = {k: tuple(v) for k, v in keyed.items()}
            silent = tuple(r for r in effective if r.kind == "no_data")
            if silent:
                silent_rules[device_id] = silent
                for rule in silent:
                    state = self._slot(device_id, rule.id).state
                    state.last_seen_ms = state.last_seen_ms or now_ms
        self.value_rules, self.silent_rules = value_rules, silent_rules
        for key, slot in list(self.slots.items()):
            if slot.live is not None and slot.live.alarm_id and slot.live.alarm_id not in still:
                self.forget(*key)

    def request_reload(self) -> None:
        """Rules changed: reload them with the next flush (after the change is committed)."""
        self._stale = True

    def forget(self, device_id: int, rule_id: int) -> None:
        """An alarm was cleared by a person: the next reading that meets the rule raises anew."""
        slot = self.slots.pop((device_id, rule_id), None)
        if slot is not None and slot.live is not None:
            slot.live.dirty = False

    # -- the hub's hooks (hot path) ------------------------------------------------------------

    def connected(self, device_id: int) -> None:
        """A device opened its first session."""
        self.last_data[device_id] = self.clock.now().timestamp()
        self._presence(device_id, CONNECTED)

    def disconnected(self, device_id: int) -> None:
        """A device closed its last session."""
        self._presence(device_id, DISCONNECTED)

    def stored(self, rows: list[Row]) -> None:
        """Evaluate rules on a batch just committed (rows of many devices, a message's together)."""
        now = self.clock.now().timestamp()  # once per batch, not per message
        value_rules, silent_rules, last_data = self.value_rules, self.silent_rules, self.last_data
        device_id = -1
        by_key: dict[str, tuple[CompiledRule, ...]] | None = None
        silent: tuple[CompiledRule, ...] | None = None
        for row in rows:
            if row[0] != device_id:
                device_id = row[0]
                if last_data.get(device_id) != now:
                    last_data[device_id] = now
                    if self.presence.get(device_id) != CONNECTED:
                        self._presence(device_id, CONNECTED)
                by_key = value_rules.get(device_id)
                silent = silent_rules.get(device_id)
            if by_key is not None and row[4] is not None:
                rules = by_key.get(row[1])
                if rules is not None:
                    for rule in rules:
                        self._reading(device_id, rule, row[2], row[4])
            if silent is not None:
                self._heard(device_id, silent, row[1], row[2])

    def _reading(self, device_id: int, rule: CompiledRule, ts: int, value: float) -> None:
        slot = self.slots.get((device_id, rule.id))
        if slot is None:
            slot = self.slots[device_id, rule.id] = _Slot(RuleState())
        step = evaluate(rule, slot.state, ts, value, self.zone)
        if step is None:
            if slot.live is not None:
                slot.live.value = value
            return
        if step == "raise":
            self._raise(device_id, rule, slot, value)
        elif step == "update" and slot.live is not None:
            live = slot.live
            live.delta += 1
            live.value = value
            if not live.dirty:
                live.dirty = True
                self._dirty.append(live)
        elif step == "clear":
            self._clear(slot, value)

    def _heard(self, device_id: int, rules: Iterable[CompiledRule], key: str, ts: int) -> None:
        for rule in rules:
            if rule.key and rule.key != key:
                continue
            state = self._slot(device_id, rule.id).state
            state.last_seen_ms = max(state.last_seen_ms, ts, int(self.last_data[device_id] * 1000))
            if state.active:
                state.active = False
                self._clear(self.slots[device_id, rule.id], None)

    def _raise(self, device_id: int, rule: CompiledRule, slot: _Slot, value: float | None) -> None:
        slot.live = Live(device_id, rule, self.clock.now(), value, first=value)
        self._pending.append(("raise", slot.live))

    def _clear(self, slot: _Slot, value: float | None) -> None:
        live, slot.live = slot.live, None
        if live is not None:
            if value is not None:
                live.value = value
            self._pending.append(("clear", live, self.clock.now()))

    def _presence(self, device_id: int, state: str) -> None:
        if self.presence.get(device_id) != state:
            self.presence[device_id] = state
            self._pending.append(("presence", device_id, state, self.clock.now()))

    # -- periodic work -------------------------------------------------------------------------

    async def tick(self) -> None:
        """Silent devices (no_data), escalations and inactivity, as of now."""
        now = self.clock.now()
        now_s = now.timestamp()
        now_ms = int(now_s * 1000)
        for partition in list(self._unread):
            await self._read(partition)
        silent_rules = self.silent_rules if self.sees_data else {}
        judges = self.judges
        for device_id, rules in silent_rules.items():
            if not judges(device_id):
                continue
            for rule in rules:
                slot = self._slot(device_id, rule.id)
                state = slot.state
                if state.active or now_ms - state.last_seen_ms < rule.silent_ms:
                    continue
                if rule.schedule is None or rule.schedule.covers(now_ms, self.zone):
                    state.active = True
                    self._raise(device_id, rule, slot, None)
        for slot in self.slots.values():
            live = slot.live
            if (
                live is not None
                and not live.escalated
                and live.rule.escalate_after_s
                and (now - live.started).total_seconds() >= live.rule.escalate_after_s
            ):
                live.escalated = True
                self._pending.append(("escalate", live, now))
        default, timeout_of = self.settings.inactivity_timeout, self.timeout_of
        for device_id, last in self.last_data.items() if self.sees_data else ():
            if not judges(device_id):
                continue
            timeout = timeout_of.get(device_id, default)
            if now_s - last >= timeout and self.presence.get(device_id) != INACTIVE:
                self._presence(device_id, INACTIVE)

    async def _periodic_flush(self) -> None:
        # Counters of active alarms go out once a tick interval; transitions every flush.
        now = time.monotonic()
        counts = now - self._counted >= self.settings.tick_interval
        if counts:
            self._counted = now
        await self.flush(counts=counts)

    async def flush(self, *, counts: bool = True) -> None:
        """Write pending transitions (and counters) in one transaction (kept when it fails)."""
        # One at a time (the periodic flush and a partition given back): a clear must not be
        # written before the raise it follows.
        async with self._flushing:
            await self._flush(counts=counts)

    async def _flush(self, *, counts: bool) -> None:
        if self._stale:
            self._stale = False
            await self.reload()
        if not self._pending and not (counts and self._dirty):
            return
        pending, self._pending = self._pending, []
        dirty: list[Live] = []
        if counts:
            dirty, self._dirty = self._dirty, []
        try:
            async with self.write_lock or contextlib.nullcontext(), self.db.session() as session:
                changes: list[Change] = []
                for kind, ops in itertools.groupby(pending, key=lambda op: op[0]):
                    changes += await self._write(session, kind, list(ops))
                await write_counts(session, dirty, self.clock.now())
                if changes:
                    await enqueue(session, changes, self.settings, self.clock.now())
        except (OSError, OperationalError, InterfaceError) as exc:  # the database is away
            log.warning("alarm changes not written, kept for the next flush: %s", exc)
            self._pending[:0] = pending
            self._dirty[:0] = dirty
            for live in dirty:
                live.dirty = True
        except Exception:  # one change is wrong (say its device was deleted): the others pass
            log.exception("alarm changes refused together; writing them one by one")
            for op in pending:
                try:
                    async with self.db.session() as session:
                        one = await self._write(session, op[0], [op])
                        if one:
                            await enqueue(session, one, self.settings, self.clock.now())
                except Exception:
                    log.exception("alarm change %s dropped", op[0])

    async def _write(self, session: Any, kind: str, ops: list[tuple[Any, ...]]) -> list[Change]:
        """Write a run of changes of one kind (raises and presence in a few statements)."""
        if kind == "raise":
            return await write_raises(
                session, [op[1] for op in ops], self.enterprise_of, self._dirty
            )
        if kind == "presence":
            await write_presence(session, ops)
            return []
        writer = write_clear if kind == "clear" else write_escalate
        changes: list[Change] = []
        for op in ops:
            changes += await writer(session, op[1], op[2], self.enterprise_of)
        return changes
