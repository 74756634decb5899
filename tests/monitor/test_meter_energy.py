"""A meter's daily use from its cumulative counter's hourly buckets (hand-made readings)."""

from datetime import date, timedelta

from taihu.monitor import Bucket, EnergyGap, daily_energy

D0 = date(2026, 2, 9)
HOUR = 3_600_000
T0 = 1_000 * HOUR  # the start of D0 in these tests: a day is 24 buckets from here


def _day_of(ts: int) -> date:
    return D0 + timedelta(days=(ts - T0) // (24 * HOUR))


def _at(day: int, hour: int, lo: float, hi: float | None = None) -> Bucket:
    return Bucket(T0 + (24 * day + hour) * HOUR, lo, lo if hi is None else hi)


def test_the_energy_between_two_days_readings_goes_to_the_later_day() -> None:
    buckets = [
        _at(0, 22, 1000.0, 1090.0), _at(0, 23, 1095.0, 1100.0),  # D0 ends at 1100
        _at(1, 1, 1110.0, 1120.0), _at(1, 20, 1140.0, 1150.0),  # D1 ends at 1150
        _at(2, 0, 1152.0),
    ]  # fmt: skip
    days = daily_energy(buckets, _day_of, D0 + timedelta(days=1), D0 + timedelta(days=2))
    # D1: 1150 - 1100 (the 10 kWh between 23:00 and 01:00 included, lost by max - min); D0
    # only gives the start; D2 from 1150 to its one reading.
    assert days.use == {D0 + timedelta(days=1): 50.0, D0 + timedelta(days=2): 2.0}
    assert days.gaps == []
    assert days.resets == []


def test_the_days_add_up_to_the_counter_s_rise() -> None:
    readings = [500.0 + 7.5 * k for k in range(24 * 5)]
    buckets = [_at(k // 24, k % 24, value) for k, value in enumerate(readings)]
    days = daily_energy(buckets, _day_of, D0, D0 + timedelta(days=4))
    assert sum(days.use.values()) == readings[-1] - readings[0]
    assert days.use[D0] == 23 * 7.5  # the first day starts at its first reading
    assert days.use[D0 + timedelta(days=1)] == 24 * 7.5


def test_days_without_readings_get_no_figure_and_their_energy_is_reported() -> None:
    buckets = [_at(0, 12, 100.0, 120.0), _at(3, 9, 400.0, 430.0), _at(4, 9, 460.0)]
    days = daily_energy(buckets, _day_of, D0, D0 + timedelta(days=4))
    assert days.use == {D0: 20.0, D0 + timedelta(days=3): 30.0, D0 + timedelta(days=4): 30.0}
    assert days.gaps == [EnergyGap(D0, D0 + timedelta(days=3), 280.0)]


def test_a_gap_before_the_range_is_reported_when_it_ends_inside() -> None:
    buckets = [_at(0, 12, 100.0), _at(2, 12, 300.0, 310.0)]
    days = daily_energy(buckets, _day_of, D0 + timedelta(days=2), D0 + timedelta(days=2))
    assert days.use == {D0 + timedelta(days=2): 10.0}
    assert days.gaps == [EnergyGap(D0, D0 + timedelta(days=2), 200.0)]


def test_a_counter_reset_counts_nothing_across_the_drop() -> None:
    buckets = [_at(0, 10, 9000.0, 9990.0), _at(0, 11, 5.0, 25.0), _at(0, 12, 30.0, 40.0)]
    days = daily_energy(buckets, _day_of, D0, D0)
    assert days.use == {D0: 990.0 + 20.0 + 5.0 + 10.0}
    assert days.resets == [D0]


def test_an_hour_holding_both_sides_of_a_reset() -> None:
    # 9990 at 10:xx; at 11:xx the counter goes on to 9999, drops and restarts: 11:xx spans
    # 3 .. 9999. Counted: 9990 → 9999 before the drop, and from 3 (after it) to 12:00's 20.
    buckets = [_at(0, 10, 9980.0, 9990.0), _at(0, 11, 3.0, 9999.0), _at(0, 12, 20.0, 28.0)]
    days = daily_energy(buckets, _day_of, D0, D0)
    assert days.use == {D0: 10.0 + 9.0 + 17.0 + 8.0}
    assert days.resets == [D0]
