"""The demo's power history has the shape docs/monitor.md promises."""

from datetime import timedelta

from taihu.demo import demo_plan
from taihu.demo.monitor import FIRST_DAY, LAST_DAY, SPRING_FESTIVAL, plan_power
from taihu.monitor import Params, PowerMatrix, baselines, day_index, quality_flags


def test_shutdown_staggered_restart_and_anomalies() -> None:
    plan = demo_plan()
    rows, stalled, spiker = plan_power(plan)
    assert (LAST_DAY - FIRST_DAY).days + 1 == 150
    codes = tuple(sorted({c for c, _, _ in rows}))
    row = {c: i for i, c in enumerate(codes)}
    matrix = PowerMatrix.build(range(len(codes)), FIRST_DAY, LAST_DAY,
                               ((row[c], d, k) for c, d, k in rows))  # fmt: skip
    base = baselines(matrix, (FIRST_DAY, FIRST_DAY + timedelta(days=30)))
    rates = {
        day: day_index(matrix.day(day), base, Params()).resumption_rate
        for day in (SPRING_FESTIVAL, SPRING_FESTIVAL + timedelta(days=10),
                    SPRING_FESTIVAL + timedelta(days=25), LAST_DAY)
    }  # fmt: skip
    values = list(rates.values())
    assert values[0] == 0.0  # everyone is shut for the festival
    assert 0 < values[1] < values[2] < values[3]  # restarts come sector by sector
    assert values[3] < 1.0  # a few never get going
    assert stalled
    assert spiker == stalled[0]
    flags = quality_flags(matrix, base, LAST_DAY - timedelta(days=30), LAST_DAY, theta=0.3,
                          spike_factor=3.0)  # fmt: skip
    kinds = {f.kind for f in flags}
    assert kinds == {"missing", "spike"}
    assert [f.enterprise_id for f in flags if f.kind == "spike"] == [row[spiker]]
