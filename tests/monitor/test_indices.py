"""The index formulas on hand-made data with known answers (docs/monitor.md's worked example)."""

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest

from taihu.monitor import (
    Bands,
    Grouping,
    Params,
    PowerMatrix,
    baseline_window,
    baselines,
    day_index,
    district_series,
    group_index,
    quality_flags,
)

DAY = date(2026, 2, 10)
DEC = (date(2025, 12, 1), date(2025, 12, 31))


def _december(values: list[float]) -> list[tuple[date, float]]:
    return [(DEC[0] + timedelta(days=i), v) for i, v in enumerate(values)]


def _example() -> PowerMatrix:
    """A: B = 100 (zero days left out); B: B = 200; C: only zeros, no baseline; D: B = 50."""
    rows: list[tuple[int, date, float]] = []
    rows += [(1, d, v) for d, v in _december([100.0] * 10 + [0.0] * 5)]
    rows += [(2, d, v) for d, v in _december([200.0] * 31)]
    rows += [(3, d, v) for d, v in _december([0.0] * 31)]
    rows += [(4, d, v) for d, v in _december([40.0, 60.0])]
    rows += [(1, DAY, 30.0), (2, DAY, 59.9), (3, DAY, 500.0)]  # D has no reading on the day
    return PowerMatrix.build((1, 2, 3, 4), DEC[0], DAY, rows)


def test_the_baseline_window_is_the_previous_december_unless_given() -> None:
    assert baseline_window(DAY) == DEC
    assert baseline_window(date(2026, 12, 31)) == DEC
    assert baseline_window(DAY, date(2025, 11, 1), date(2025, 11, 30)) == (
        date(2025, 11, 1), date(2025, 11, 30)
    )  # fmt: skip


def test_baselines_leave_zero_and_missing_days_out() -> None:
    base = baselines(_example(), DEC)
    assert base[0] == 100.0
    assert base[1] == 200.0
    assert base[3] == 50.0
    assert np.isnan(base[2])  # only zero readings: no baseline, not guessed


def test_the_worked_example() -> None:
    matrix = _example()
    base = baselines(matrix, DEC)
    got = day_index(matrix.day(DAY), base, Params(theta=0.30))
    # counted: A and B (C has no baseline, D no reading); A at exactly 0.3·B is resumed
    assert (got.enterprises, got.resumed) == (2, 1)
    assert got.resumption_rate == 0.5
    assert got.production_rate == pytest.approx(89.9 / 300)
    assert got.composite_index == pytest.approx((0.5 + 89.9 / 300) / 2)
    assert got.band == "red"
    only = day_index(matrix.day(DAY), base, Params(theta=0.30, resumed_only=True))
    assert only.production_rate == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("energy", "theta", "resumed"),
    [(30.0, 0.30, 1), (29.99, 0.30, 0), (100.0, 1.0, 1), (99.999, 1.0, 0), (70.0, 0.7, 1),
     (0.0, 0.30, 0), (1e-9, 1e-9, 0)],
)  # fmt: skip
def test_theta_edges(energy: float, theta: float, resumed: int) -> None:
    # 0.3 * 100 is 30.000000000000004 in binary floating point: E == theta·B still counts.
    got = day_index(np.array([energy]), np.array([100.0]), Params(theta=theta))
    assert got.resumed == resumed


def test_nobody_counted_gives_no_rates() -> None:
    got = day_index(np.array([np.nan, 5.0]), np.array([10.0, np.nan]), Params())
    assert got.enterprises == 0
    assert got.resumption_rate is got.production_rate is got.composite_index is got.band is None


def test_bands() -> None:
    bands = Bands(0.8, 0.6, 0.4)
    assert [bands.of(v) for v in (0.8, 0.79, 0.6, 0.4, 0.39, None)] == [
        "green", "yellow", "yellow", "orange", "red", None
    ]  # fmt: skip


def test_groups_single_and_multiple_membership() -> None:
    matrix = _example()
    base = baselines(matrix, DEC)
    energy = matrix.day(DAY)
    towns = group_index(
        energy,
        base,
        Params(),
        Grouping.of("township", {0: ["T1"], 1: ["T2"], 2: ["T1"], 3: ["T2"]}),
    )
    assert towns["T1"].resumption_rate == 1.0
    assert towns["T1"].production_rate == 0.3
    assert towns["T1"].composite_index == pytest.approx(0.65)
    assert towns["T1"].band == "yellow"
    assert towns["T2"].resumption_rate == 0.0
    assert towns["T2"].production_rate == pytest.approx(0.2995)
    chains = group_index(energy, base, Params(), Grouping.of("chain", {0: ["X", "Y"], 1: ["X"]}))
    assert chains["X"].enterprises == 2
    assert chains["X"].resumed == 1
    assert chains["Y"].enterprises == 1
    assert chains["Y"].resumption_rate == 1.0
    district = day_index(energy, base, Params())
    # X holds every counted enterprise; the district also has D, with a baseline but no reading
    assert replace(chains["X"], no_reading=1) == district
    assert district.no_reading == 1


def test_the_series_agrees_with_each_day() -> None:
    rng = np.random.default_rng(7)
    kwh = rng.uniform(0, 200, size=(30, 90))
    kwh[rng.random(kwh.shape) < 0.1] = np.nan
    matrix = PowerMatrix(tuple(range(30)), DEC[0], kwh)
    base = baselines(matrix, DEC)
    series = district_series(matrix, base, Params(), date(2026, 1, 1), date(2026, 2, 28))
    assert len(series) == 59
    for day, values in series[::7]:
        one = day_index(matrix.day(day), base, Params())
        assert (values.enterprises, values.resumed, values.band) == (
            one.enterprises, one.resumed, one.band
        )  # fmt: skip
        assert values.production_rate == pytest.approx(one.production_rate)


def _history(values: list[float]) -> PowerMatrix:
    start = date(2026, 2, 1)
    rows = [(1, d, v) for d, v in _december([100.0] * 31)]
    rows += [(1, start + timedelta(days=i), v) for i, v in enumerate(values) if not np.isnan(v)]
    return PowerMatrix.build((1,), DEC[0], start + timedelta(days=len(values) - 1), rows)


def test_an_idle_spike_is_flagged_and_a_restart_is_not() -> None:
    idle = [5.0] * 10 + [80.0] + [5.0] * 10
    matrix = _history(idle)
    base = baselines(matrix, DEC)
    flags = quality_flags(matrix, base, date(2026, 2, 1), date(2026, 2, 21), theta=0.3,
                          spike_factor=3.0)  # fmt: skip
    assert [(f.day, f.kind) for f in flags] == [(date(2026, 2, 11), "spike")]
    restart = _history([5.0] * 10 + [80.0] * 11)
    flags = quality_flags(restart, baselines(restart, DEC), date(2026, 2, 1), date(2026, 2, 21),
                          theta=0.3, spike_factor=3.0)  # fmt: skip
    assert flags == []


def test_missing_days_and_status_mismatch_are_flagged() -> None:
    matrix = _history([50.0, float("nan"), 50.0, 5.0])
    base = baselines(matrix, DEC)
    reported = {(1, date(2026, 2, 4)): True, (1, date(2026, 2, 1)): True}
    flags = quality_flags(matrix, base, date(2026, 2, 1), date(2026, 2, 4), theta=0.3,
                          spike_factor=3.0, reported=reported)  # fmt: skip
    assert [(f.day.day, f.kind) for f in flags] == [(2, "missing"), (4, "mismatch")]
    assert "power says not resumed (5 % of baseline)" in flags[1].detail.render()
    assert flags[1].detail.params == {"share": 5}
