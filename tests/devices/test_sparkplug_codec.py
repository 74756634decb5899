"""The Sparkplug B payload codec: every data type both ways, flags, templates, topics, and
payloads of a third-party implementation (pysparkplug's protobuf classes) read and written."""

from __future__ import annotations

import math

import pytest
from pysparkplug import DataType as TheirType
from pysparkplug import Metric as TheirMetric
from pysparkplug import NData

from taihu.devices.sparkplug import (
    BadSparkplug,
    DataType,
    Metric,
    Payload,
    Template,
    decode_payload,
    encode_payload,
    parse_topic,
)

T = 1_764_057_600_000

SAMPLES = [
    (DataType.INT8, -128), (DataType.INT8, 127), (DataType.INT16, -32768),
    (DataType.INT32, -(2**31)), (DataType.INT32, 2**31 - 1), (DataType.INT64, -(2**63)),
    (DataType.INT64, 2**63 - 1), (DataType.UINT8, 255), (DataType.UINT16, 65535),
    (DataType.UINT32, 2**32 - 1), (DataType.UINT64, 2**64 - 1), (DataType.FLOAT, 1.5),
    (DataType.DOUBLE, -2.25e300), (DataType.BOOLEAN, True), (DataType.BOOLEAN, False),
    (DataType.STRING, "温度 ok"), (DataType.TEXT, "long text"),
    (DataType.UUID, "0b9c2b3e-1f7a-4c8e-9a41-0d1b7e3c5a60"), (DataType.DATETIME, T),
    (DataType.BYTES, b"\x00\xff"), (DataType.FILE, b"file"),
]  # fmt: skip


@pytest.mark.parametrize(("datatype", "value"), SAMPLES)
def test_every_datatype_round_trips(datatype: DataType, value: object) -> None:
    metric = Metric("m", value, datatype, alias=7, timestamp=T)
    payload = Payload(timestamp=T, metrics=(metric,), seq=255, uuid="u", body=b"b")
    back = decode_payload(encode_payload(payload))
    assert back == payload


def test_flags_and_null_round_trip() -> None:
    metrics = (
        Metric("old", 1.0, DataType.DOUBLE, timestamp=T - 1000, is_historical=True),
        Metric("scratch", 2, DataType.INT32, is_transient=True),
        Metric("gone", None, DataType.STRING, is_null=True),
    )
    back = decode_payload(encode_payload(Payload(T, metrics, 3)))
    assert back.metrics == metrics


def test_template_instance_round_trips() -> None:
    members = (
        Metric("rpm", 1200, DataType.INT32),
        Metric("on", value=True, datatype=DataType.BOOLEAN),
    )
    motor = Template(metrics=members, version="1", template_ref="Motor")
    metric = Metric("motor1", motor, DataType.TEMPLATE)
    assert decode_payload(encode_payload(Payload(T, (metric,), 0))).metrics == (metric,)


def test_out_of_range_values_are_refused_when_encoding() -> None:
    for datatype, value in [(DataType.INT8, 128), (DataType.UINT16, -1), (DataType.INT32, 1.5)]:
        with pytest.raises(BadSparkplug):
            encode_payload(Payload(T, (Metric("m", value, datatype),), 0))


def test_malformed_payloads_are_refused() -> None:
    good = encode_payload(Payload(T, (Metric("m", 1, DataType.INT32),), 0))
    for bad in (good[:-1], b"\x12\x7f", b"\xff" * 11, b"\x0f"):
        with pytest.raises(BadSparkplug):
            decode_payload(bad)


def test_signed_integers_sign_extended_to_32_bits_are_read() -> None:
    # Some implementations send Int8 -1 as 0xFFFFFFFF rather than 0xFF.
    raw = b"\x12\x0b" + b"\x0a\x01m" + b"\x20\x01" + b"\x50\xff\xff\xff\xff\x0f"
    assert decode_payload(raw).metrics[0].value == -1


@pytest.mark.parametrize(
    ("theirs", "value"),
    [(TheirType.INT8, -5), (TheirType.INT16, -300), (TheirType.INT64, -(2**40)),
     (TheirType.UINT32, 4_000_000_000), (TheirType.FLOAT, 0.5), (TheirType.DOUBLE, math.pi),
     (TheirType.BOOLEAN, True), (TheirType.STRING, "läuft")],
)  # fmt: skip
def test_pysparkplug_payloads_are_read_and_ours_are_read_by_it(
    theirs: TheirType, value: object
) -> None:
    metric = TheirMetric(timestamp=T, name="m", datatype=theirs, value=value, alias=3)
    encoded = NData(timestamp=T, seq=9, metrics=(metric,)).encode(include_dtypes=True)
    ours = decode_payload(encoded)
    assert (ours.seq, ours.timestamp) == (9, T)
    assert ours.metrics[0] == Metric("m", value, DataType(int(theirs)), alias=3, timestamp=T)
    again = NData.decode(encode_payload(ours))
    assert again.metrics[0].value == value
    assert again.metrics[0].datatype == theirs


def test_topics() -> None:
    topic = parse_topic("spBv1.0/plant/DDATA/line1/press")
    assert (topic.group_id, topic.kind, topic.edge_node_id, topic.device_id) == (
        "plant", "DDATA", "line1", "press",
    )  # fmt: skip
    assert str(topic) == "spBv1.0/plant/DDATA/line1/press"
    assert parse_topic("spBv1.0/plant/NBIRTH/line1").device_id is None
    for bad in ("spBv1.0/STATE/taihu", "spBv1.0/plant/NDATA/line1/press",
                "spBv1.0/plant/DDATA/line1", "spBv1.0/plant/XDATA/n", "v1/devices/me"):  # fmt: skip
        with pytest.raises(BadSparkplug):
            parse_topic(bad)
