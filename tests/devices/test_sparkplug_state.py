"""The host's state machine per edge node: births, bdSeq, seq (wrapping at 255), aliases."""

from __future__ import annotations

from taihu.devices.sparkplug import DataType, Metric, NodeTracker, Payload, Verdict, parse_topic

G, N = "plant", "line1"


def _topic(kind: str, device: str | None = None) -> object:
    return parse_topic(f"spBv1.0/{G}/{kind}/{N}" + (f"/{device}" if device else ""))


def _birth(tracker: NodeTracker, bd_seq: int = 0) -> None:
    metrics = (Metric("bdSeq", bd_seq, DataType.INT64),
               Metric("temp", 20.5, DataType.DOUBLE, alias=1))  # fmt: skip
    outcome = tracker.receive(_topic("NBIRTH"), Payload(1, metrics, 0))  # type: ignore[arg-type]
    assert outcome.verdict is Verdict.ACCEPT


def _data(tracker: NodeTracker, seq: int, kind: str = "NDATA", device: str | None = None,
          metrics: tuple[Metric, ...] = (Metric(alias=1, value=21.0),)) -> object:  # fmt: skip
    return tracker.receive(_topic(kind, device), Payload(2, metrics, seq))  # type: ignore[arg-type]


def test_data_in_order_is_accepted_with_names_and_types_from_the_birth() -> None:
    tracker = NodeTracker()
    _birth(tracker)
    outcome = _data(tracker, 1)
    assert outcome.verdict is Verdict.ACCEPT  # type: ignore[attr-defined]
    assert outcome.metrics == (Metric("temp", 21.0, DataType.DOUBLE, alias=1),)  # type: ignore[attr-defined]


def test_seq_wraps_from_255_to_0() -> None:
    tracker = NodeTracker()
    _birth(tracker)
    for seq in [*range(1, 256), 0, 1]:
        assert _data(tracker, seq).verdict is Verdict.ACCEPT  # type: ignore[attr-defined]


def test_a_gap_keeps_the_data_and_asks_for_a_rebirth() -> None:
    tracker = NodeTracker()
    _birth(tracker)
    assert _data(tracker, 1).verdict is Verdict.ACCEPT  # type: ignore[attr-defined]
    gap = _data(tracker, 3)
    assert gap.verdict is Verdict.ACCEPT_AND_REBIRTH  # type: ignore[attr-defined]
    assert gap.metrics[0].name == "temp"  # type: ignore[attr-defined]
    assert _data(tracker, 4).verdict is Verdict.ACCEPT  # type: ignore[attr-defined]
    assert _data(tracker, 4).verdict is Verdict.ACCEPT_AND_REBIRTH  # type: ignore[attr-defined]


def test_data_before_birth_asks_for_a_rebirth_and_is_dropped() -> None:
    tracker = NodeTracker()
    outcome = _data(tracker, 5)
    assert outcome.verdict is Verdict.REBIRTH  # type: ignore[attr-defined]
    _birth(tracker)
    device_data = _data(tracker, 1, "DDATA", "press")
    assert device_data.verdict is Verdict.REBIRTH  # type: ignore[attr-defined]


def test_an_unknown_alias_asks_for_a_rebirth() -> None:
    tracker = NodeTracker()
    _birth(tracker)
    outcome = _data(tracker, 1, metrics=(Metric(alias=99, value=1.0),))
    assert outcome.verdict is Verdict.REBIRTH  # type: ignore[attr-defined]


def test_device_birth_data_and_death() -> None:
    tracker = NodeTracker()
    _birth(tracker)
    born = _data(tracker, 1, "DBIRTH", "press",
                 (Metric("force", 3, DataType.INT32, alias=5),))  # fmt: skip
    assert born.verdict is Verdict.ACCEPT  # type: ignore[attr-defined]
    data = _data(tracker, 2, "DDATA", "press", (Metric(alias=5, value=4),))
    assert data.metrics == (Metric("force", 4, DataType.INT32, alias=5),)  # type: ignore[attr-defined]
    assert _data(tracker, 3, "DDEATH", "press", ()).verdict is Verdict.ACCEPT  # type: ignore[attr-defined]
    after = _data(tracker, 4, "DDATA", "press", (Metric(alias=5, value=4),))
    assert after.verdict is Verdict.REBIRTH  # type: ignore[attr-defined]


def test_a_death_of_another_session_is_ignored() -> None:
    tracker = NodeTracker()
    _birth(tracker, bd_seq=4)
    stale = Payload(3, (Metric("bdSeq", 3, DataType.INT64),))
    assert tracker.receive(_topic("NDEATH"), stale).verdict is Verdict.IGNORE  # type: ignore[arg-type]
    assert _data(tracker, 1).verdict is Verdict.ACCEPT  # type: ignore[attr-defined]
    death = Payload(3, (Metric("bdSeq", 4, DataType.INT64),))
    assert tracker.receive(_topic("NDEATH"), death).verdict is Verdict.ACCEPT  # type: ignore[arg-type]
    assert _data(tracker, 2).verdict is Verdict.REBIRTH  # type: ignore[attr-defined]


def test_a_new_birth_starts_the_sequence_again() -> None:
    tracker = NodeTracker()
    _birth(tracker)
    assert _data(tracker, 1).verdict is Verdict.ACCEPT  # type: ignore[attr-defined]
    _birth(tracker, bd_seq=1)
    assert _data(tracker, 1).verdict is Verdict.ACCEPT  # type: ignore[attr-defined]
