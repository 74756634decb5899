"""Alarm rules as data, and their evaluation on one (device, rule) state; pure, no database.

    kind        raises when                                        clears when
    threshold   a reading meets the condition                      the clear condition is met
    duration    it holds for hold_seconds or hold_readings          (hysteresis) or, without one,
    repeating   it is met repeat_count times within repeat_window   the condition is not met
    no_data     the key (or, with no key, the device) is silent     data comes again
                silent_minutes (checked by the engine's tick)

Every kind takes a schedule (days 1-7 = Monday-Sunday, start-end "HH:MM" in the district's time
zone; outside it, readings raise nothing but still clear) and an escalation (after
escalate_after_seconds active, the severity becomes escalate_to).
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from taihu.core import N_, InvalidInput

__all__ = [
    "KINDS",
    "OPERATORS",
    "SEVERITIES",
    "CompiledRule",
    "RuleState",
    "Schedule",
    "Step",
    "check_rule",
    "compile_rule",
    "evaluate",
]

KINDS = ("threshold", "duration", "repeating", "no_data")
SEVERITIES = ("critical", "major", "minor", "warning", "indeterminate")
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
Step = Literal["raise", "update", "clear"]


@dataclass(frozen=True, slots=True)
class Schedule:
    """Working hours: days of the week (1 = Monday) and a start-end time in a time zone."""

    days: frozenset[int]
    start: time
    end: time

    def covers(self, ts_ms: int, zone: ZoneInfo) -> bool:
        """Whether a moment falls in the working hours (an end before the start spans midnight)."""
        local = datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(zone)
        moment = local.time()
        if self.start <= self.end:
            return local.isoweekday() in self.days and self.start <= moment < self.end
        if moment >= self.start:
            return local.isoweekday() in self.days
        return (local.isoweekday() - 2) % 7 + 1 in self.days and moment < self.end


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule ready for evaluation."""

    id: int
    name: str
    kind: str
    key: str
    severity: str
    test: Callable[[float, float], bool] | None = None
    value: float = 0.0
    clear_test: Callable[[float, float], bool] | None = None
    clear_value: float = 0.0
    hold_ms: int = 0
    hold_readings: int = 0
    repeat_count: int = 0
    repeat_window_ms: int = 0
    silent_ms: int = 0
    schedule: Schedule | None = None
    escalate_after_s: float = 0.0
    escalate_to: str = ""


@dataclass(slots=True)
class RuleState:
    """What the engine remembers of one (device, rule) between readings."""

    active: bool = False
    hold_since: int | None = None  # ts of the first reading of the current run (duration)
    held: int = 0  # readings in the current run (duration)
    hits: deque[int] = field(default_factory=deque)  # ts of recent hits (repeating)
    last_seen_ms: int = 0  # the newest data (no_data)


def _number(spec: dict[str, Any], name: str, *, low: float = 0, integer: bool = False) -> Any:
    value = spec.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(N_("rule field {name} must be a number"), name=name, code="bad_rule")
    if integer and int(value) != value:
        raise InvalidInput(
            N_("rule field {name} must be a whole number"), name=name, code="bad_rule"
        )
    if value < low:
        raise InvalidInput(
            N_("rule field {name} must be at least {low}"), name=name, low=low, code="bad_rule"
        )
    return int(value) if integer else float(value)


def _operator(spec: dict[str, Any], name: str) -> str | None:
    op = spec.get(name)
    if op is None:
        return None
    if op not in OPERATORS:
        raise InvalidInput(
            N_("rule field {name} must be one of {choices}"),
            name=name,
            choices=" ".join(OPERATORS),
            code="bad_rule",
        )
    return str(op)


def _schedule(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    bad = InvalidInput(
        N_('a schedule is {"days": [1, …, 7], "start": "HH:MM", "end": "HH:MM"}'), code="bad_rule"
    )
    if not isinstance(raw, dict):
        raise bad
    days = raw.get("days", [1, 2, 3, 4, 5])
    if not isinstance(days, list) or not days or any(d not in range(1, 8) for d in days):
        raise bad
    try:
        start, end = time.fromisoformat(raw["start"]), time.fromisoformat(raw["end"])
    except (KeyError, TypeError, ValueError):
        raise bad from None
    if start == end:
        raise bad
    return {
        "days": sorted(set(days)),
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
    }


def _condition(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The condition on a reading and its clear condition (hysteresis)."""
    out: dict[str, Any] = {
        "op": _operator(spec, "op"),
        "value": _number(spec, "value", low=float("-inf")),
    }
    if out["op"] is None or out["value"] is None:
        raise InvalidInput(N_("a {kind} rule needs op and value"), kind=kind, code="bad_rule")
    clear_op = _operator(spec, "clear_op")
    clear_value = _number(spec, "clear_value", low=float("-inf"))
    if (clear_op is None) != (clear_value is None):
        raise InvalidInput(N_("a clear condition needs clear_op and clear_value"), code="bad_rule")
    if clear_op is not None:
        out["clear_op"], out["clear_value"] = clear_op, clear_value
    return out


def _kind_fields(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """What a duration, repeating or no_data rule needs besides its condition."""
    if kind == "duration":
        seconds = _number(spec, "hold_seconds", low=1)
        readings = _number(spec, "hold_readings", low=2, integer=True)
        if seconds is None and readings is None:
            raise InvalidInput(
                N_("a duration rule needs hold_seconds or hold_readings"), code="bad_rule"
            )
        return {k: v for k, v in (("hold_seconds", seconds), ("hold_readings", readings)) if v}
    if kind == "repeating":
        out = {
            "repeat_count": _number(spec, "repeat_count", low=2, integer=True),
            "repeat_window_seconds": _number(spec, "repeat_window_seconds", low=1),
        }
        if None in out.values():
            raise InvalidInput(
                N_("a repeating rule needs repeat_count and repeat_window_seconds"),
                code="bad_rule",
            )
        return out
    if kind == "no_data":
        minutes = _number(spec, "silent_minutes", low=1)
        if minutes is None:
            raise InvalidInput(N_("a no_data rule needs silent_minutes"), code="bad_rule")
        return {"silent_minutes": minutes}
    return {}


def check_rule(kind: str, key: str, severity: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The rule's spec, normalised; ``InvalidInput`` naming the first problem."""
    if kind not in KINDS:
        raise InvalidInput(
            N_("a rule kind is one of {choices}"), choices=", ".join(KINDS), code="bad_rule"
        )
    if severity not in SEVERITIES:
        raise InvalidInput(
            N_("a severity is one of {choices}"), choices=", ".join(SEVERITIES), code="bad_rule"
        )
    if kind != "no_data" and not key:
        raise InvalidInput(N_("a {kind} rule needs a key"), kind=kind, code="bad_rule")
    out = _condition(kind, spec) if kind != "no_data" else {}
    out |= _kind_fields(kind, spec)
    schedule = _schedule(spec.get("schedule"))
    if schedule is not None:
        out["schedule"] = schedule
    after = _number(spec, "escalate_after_seconds", low=1)
    if after is not None:
        to = spec.get("escalate_to")
        if to not in SEVERITIES:
            raise InvalidInput(
                N_("escalate_to is one of {choices}"),
                choices=", ".join(SEVERITIES),
                code="bad_rule",
            )
        out["escalate_after_seconds"], out["escalate_to"] = after, to
    return out


def compile_rule(
    rule_id: int, name: str, kind: str, key: str, severity: str, spec: dict[str, Any]
) -> CompiledRule:
    """A stored rule ready for evaluation (its spec was checked when written)."""
    raw = spec.get("schedule")
    schedule = None
    if raw:
        schedule = Schedule(
            frozenset(raw["days"]), time.fromisoformat(raw["start"]), time.fromisoformat(raw["end"])
        )
    return CompiledRule(
        id=rule_id,
        name=name,
        kind=kind,
        key=key,
        severity=severity,
        test=OPERATORS[spec["op"]] if "op" in spec else None,
        value=float(spec.get("value", 0.0)),
        clear_test=OPERATORS[spec["clear_op"]] if "clear_op" in spec else None,
        clear_value=float(spec.get("clear_value", 0.0)),
        hold_ms=int(spec.get("hold_seconds", 0) * 1000),
        hold_readings=int(spec.get("hold_readings", 0)),
        repeat_count=int(spec.get("repeat_count", 0)),
        repeat_window_ms=int(spec.get("repeat_window_seconds", 0) * 1000),
        silent_ms=int(spec.get("silent_minutes", 0) * 60_000),
        schedule=schedule,
        escalate_after_s=float(spec.get("escalate_after_seconds", 0.0)),
        escalate_to=str(spec.get("escalate_to", "")),
    )


def _raises(rule: CompiledRule, state: RuleState, ts: int, met: bool) -> bool:
    """Whether a reading starts an alarm; keeps the run (duration) or the hits (repeating)."""
    if rule.kind == "threshold":
        return met
    if rule.kind == "duration":
        if not met:
            state.hold_since, state.held = None, 0
            return False
        if state.hold_since is None:
            state.hold_since = ts
        state.held += 1
        return (rule.hold_readings > 0 and state.held >= rule.hold_readings) or (
            rule.hold_ms > 0 and ts - state.hold_since >= rule.hold_ms
        )
    if not met:  # repeating
        return False
    hits = state.hits
    hits.append(ts)
    while hits and hits[0] <= ts - rule.repeat_window_ms:
        hits.popleft()
    return len(hits) >= rule.repeat_count


def evaluate(
    rule: CompiledRule, state: RuleState, ts: int, value: float, zone: ZoneInfo
) -> Step | None:
    """What one numeric reading does to the alarm of a (device, rule), if anything."""
    assert rule.test is not None
    met = rule.test(value, rule.value)
    if state.active:
        if rule.clear_test is not None:
            cleared = rule.clear_test(value, rule.clear_value)
        else:
            cleared = not met
        if cleared:
            state.active, state.hold_since, state.held = False, None, 0
            state.hits.clear()
            return "clear"
        return "update" if met else None
    if rule.schedule is not None and not rule.schedule.covers(ts, zone):
        return None
    if _raises(rule, state, ts, met):
        state.active, state.hold_since, state.held = True, None, 0
        state.hits.clear()
        return "raise"
    return None
