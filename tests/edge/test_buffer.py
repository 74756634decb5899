"""The store-and-forward buffer: order, acknowledgement, bounds and their counted drops."""

from __future__ import annotations

from pathlib import Path

from taihu.edge import Buffer, read_status
from taihu.edge.buffer import Row
from taihu.edge.config import Report
from taihu.edge.pacing import Backoff, Pace, parse_limits
from taihu.edge.report import ReportFilter
from taihu.edge.uplink import gateway_payload

T = 1_764_057_600_000


def test_rows_keep_order_survive_reopening_and_leave_only_when_acknowledged(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "b.db")
    buffer.append([("a", T, "k", 1), ("b", T, "k", 2.5), ("a", T + 1, "k", True)])
    rows = buffer.head(0, 10)
    assert [(r.device, r.value) for r in rows] == [("a", "1"), ("b", "2.5"), ("a", "true")]
    buffer.ack([rows[0].id])
    buffer.close()

    reopened = Buffer(tmp_path / "b.db")
    assert reopened.depth == 2
    assert [r.id for r in reopened.head(0, 10)] == [r.id for r in rows[1:]]
    # Ids only grow: a reading appended after deletes never hides behind the sender's cursor.
    reopened.ack([r.id for r in rows[1:]])
    reopened.append([("a", T + 2, "k", 3)])
    assert reopened.head(rows[-1].id, 10)[0].id > rows[-1].id
    stats = reopened.stats()
    assert stats.counters["appended"] == 4
    assert stats.counters["sent"] == 3
    reopened.close()


def test_bounds_drop_by_policy_and_count_it(tmp_path: Path) -> None:
    oldest = Buffer(tmp_path / "o.db", max_readings=3)
    oldest.append([("a", T + i, "k", i) for i in range(5)])
    assert [r.value for r in oldest.head(0, 10)] == ["2", "3", "4"]
    oldest.append([("a", T + 5, "k", 5)])
    assert [r.value for r in oldest.head(0, 10)] == ["3", "4", "5"]
    assert oldest.stats().counters["dropped_full"] == 3
    assert oldest.depth == 3

    newest = Buffer(tmp_path / "n.db", max_readings=3, drop="newest")
    assert newest.append([("a", T + i, "k", i) for i in range(5)]) == 2
    assert [r.value for r in newest.head(0, 10)] == ["0", "1", "2"]
    assert newest.stats().counters["dropped_newest"] == 2

    aged = Buffer(tmp_path / "a.db", max_age_s=60)
    aged.append([("a", T, "k", 0), ("a", T + 30_000, "k", 1), ("a", T + 90_000, "k", 2)])
    assert aged.expire(now_ms=T + 100_000) == 2
    assert [r.value for r in aged.head(0, 10)] == ["2"]
    aged.save_status({"devices": []})
    aged.close()
    status = read_status(tmp_path / "a.db")["buffer"]
    assert status["dropped_age"] == status["dropped"] == 2
    assert status["depth"] == 1


def test_gateway_payload_groups_by_device_and_time_in_order() -> None:
    rows = [Row(1, "m", T, "p", "1.5"), Row(2, "m", T, "q", "true"), Row(3, "n", T, "p", '"x"'),
            Row(4, "m", T + 1, "p", "2")]  # fmt: skip
    assert gateway_payload(rows) == (
        b'{"m":[{"ts":1764057600000,"values":{"p":1.5,"q":true}},'
        b'{"ts":1764057600001,"values":{"p":2}}],"n":[{"ts":1764057600000,"values":{"p":"x"}}]}'
    )


def test_report_strategies() -> None:
    f = ReportFilter()
    change = Report(strategy="on_change")
    assert [f.wanted("d", "c", v, t, change) for t, v in enumerate([1, 1, 2, 2, 1])] == [
        True, False, True, False, True,
    ]  # fmt: skip
    period = Report(strategy="on_period", period=10)
    assert [f.wanted("d", "p", 5, t, period) for t in (0, 5, 10, 12, 20)] == [
        True, False, True, False, True,
    ]  # fmt: skip
    either = Report(strategy="on_change_or_period", period=10)
    readings = [(0, 1), (1, 1), (2, 2), (11, 2), (12, 2)]
    assert [f.wanted("d", "e", v, t, either) for t, v in readings] == [
        True, False, True, False, True,
    ]  # fmt: skip
    always = Report(strategy="always")
    assert all(f.wanted("d", "a", 1, 0, always) for _ in range(3))


def test_pacing_and_backoff() -> None:
    assert parse_limits("100:1, 3000:60,bad,0:1") == [(100, 1.0), (3000, 60.0)]
    pace = Pace([(10, 1.0)])
    assert pace.delay(1) == 0  # starts half full
    assert pace.delay(100) > 0.4  # a batch larger than the bucket waits for a full one
    assert pace.largest() == 9
    assert Pace([]).delay(10**6) == 0
    backoff = Backoff(1.0, 8.0)
    delays = [backoff.next() for _ in range(6)]
    assert all(0.5 * b <= d <= b for d, b in zip(delays, [1, 2, 4, 8, 8, 8], strict=True))
    backoff.reset()
    assert backoff.next() <= 1.0
