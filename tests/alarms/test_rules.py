"""Each rule kind on one (device, rule) state, without a database."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from taihu.alarms.rules import RuleState, check_rule, compile_rule, evaluate
from taihu.core import InvalidInput

ZONE = ZoneInfo("Asia/Shanghai")
MONDAY_9 = 1_765_155_600_000  # 2025-12-08 09:00 in Shanghai, a Monday


def _rule(kind: str, **spec: object) -> object:
    checked = check_rule(kind, "t", "major", dict(spec))
    return compile_rule(1, "r", kind, "t", "major", checked)


def _run(rule: object, values: list[float], step_ms: int = 1000) -> list[str | None]:
    state = RuleState()
    return [
        evaluate(rule, state, MONDAY_9 + i * step_ms, v, ZONE)  # type: ignore[arg-type]
        for i, v in enumerate(values)
    ]


def test_threshold_raises_updates_and_clears() -> None:
    rule = _rule("threshold", op=">", value=80)
    assert _run(rule, [70, 81, 90, 79, 85]) == [None, "raise", "update", "clear", "raise"]


def test_hysteresis_clears_only_past_the_clear_condition() -> None:
    rule = _rule("threshold", op=">", value=80, clear_op="<", clear_value=75)
    assert _run(rule, [81, 78, 76, 74, 78]) == ["raise", None, None, "clear", None]


def test_duration_in_readings() -> None:
    rule = _rule("duration", op=">=", value=10, hold_readings=3)
    assert _run(rule, [10, 11, 5, 10, 10, 10, 12]) == [
        None,
        None,
        None,
        None,
        None,
        "raise",
        "update",
    ]


def test_duration_in_seconds() -> None:
    rule = _rule("duration", op=">", value=0, hold_seconds=5)
    # one reading a second: the run reaches 5 s at its sixth reading
    assert _run(rule, [1] * 7) == [None] * 5 + ["raise", "update"]


def test_repeating_within_a_window() -> None:
    rule = _rule("repeating", op="==", value=1, repeat_count=3, repeat_window_seconds=10)
    # hits at 0 s, 4 s, 8 s (the third within 10 s) raise; a miss clears
    values = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    assert _run(rule, values) == [None, None, None, None, None, None, None, None, "raise"]
    # hits 6 s apart never have 3 within 10 s
    assert _run(rule, [1, 1, 1, 1], step_ms=6000) == [None, None, None, None]


def test_schedule_in_the_district_time_zone() -> None:
    rule = _rule(
        "threshold",
        op=">",
        value=1,
        schedule={"days": [1, 2, 3, 4, 5], "start": "08:00", "end": "18:00"},
    )
    state = RuleState()
    sunday_9 = MONDAY_9 - 86_400_000
    assert evaluate(rule, state, sunday_9, 5, ZONE) is None  # type: ignore[arg-type]
    monday_7 = MONDAY_9 - 2 * 3_600_000  # 07:00 in Shanghai, 23:00 UTC the day before
    assert evaluate(rule, state, monday_7, 5, ZONE) is None  # type: ignore[arg-type]
    assert evaluate(rule, state, MONDAY_9, 5, ZONE) == "raise"  # type: ignore[arg-type]


def test_overnight_schedule_belongs_to_the_day_it_starts() -> None:
    rule = _rule(
        "threshold", op=">", value=1, schedule={"days": [7], "start": "22:00", "end": "06:00"}
    )
    monday_3 = MONDAY_9 - 6 * 3_600_000  # Sunday night's shift
    assert evaluate(rule, RuleState(), monday_3, 5, ZONE) == "raise"  # type: ignore[arg-type]
    assert evaluate(rule, RuleState(), MONDAY_9, 5, ZONE) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "spec"),
    [
        ("threshold", {"op": ">"}),
        ("threshold", {"op": "~", "value": 1}),
        ("threshold", {"op": ">", "value": 1, "clear_op": "<"}),
        ("duration", {"op": ">", "value": 1}),
        ("repeating", {"op": ">", "value": 1, "repeat_count": 1, "repeat_window_seconds": 5}),
        ("no_data", {}),
        ("threshold", {"op": ">", "value": 1, "schedule": {"start": "9", "end": "x"}}),
        ("threshold", {"op": ">", "value": 1, "escalate_after_seconds": 60}),
        ("sometimes", {"op": ">", "value": 1}),
    ],
)
def test_bad_rules_are_refused(kind: str, spec: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        check_rule(kind, "t", "major", spec)


def test_a_value_rule_needs_a_key_and_a_known_severity() -> None:
    with pytest.raises(InvalidInput):
        check_rule("threshold", "", "major", {"op": ">", "value": 1})
    with pytest.raises(InvalidInput):
        check_rule("threshold", "t", "dire", {"op": ">", "value": 1})
