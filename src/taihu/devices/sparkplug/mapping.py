"""Sparkplug metrics as Taihu telemetry, and Taihu commands as Sparkplug metrics.

    Sparkplug metric                 telemetry point
    Int*, UInt*                      long
    Float, Double                    double (NaN and infinities are not stored)
    Boolean                          boolean
    String, Text, UUID               string
    DateTime                         long: milliseconds since the epoch
    Template                         one point per member: ``<metric>/<member>``
    is_null, is_transient, Bytes, File, DataSet     not stored

A point's time is the metric's timestamp, else the payload's, else the host's clock. Historical
metrics are stored at their own time like any other: the store orders readings by time.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from taihu.devices.sparkplug.codec import DataType, Metric, Payload, Template
from taihu.devices.values import Point

__all__ = ["command_metric", "metric_points"]

_STORED = {
    DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64, DataType.UINT8,
    DataType.UINT16, DataType.UINT32, DataType.UINT64, DataType.FLOAT, DataType.DOUBLE,
    DataType.BOOLEAN, DataType.STRING, DataType.TEXT, DataType.UUID, DataType.DATETIME,
}  # fmt: skip
_MAX_KEY = 255


def metric_points(payload: Payload, metrics: tuple[Metric, ...], now_ms: int) -> list[Point]:
    """The telemetry points of a message's (named, typed) metrics."""
    at = payload.timestamp if payload.timestamp is not None else now_ms
    out: list[Point] = []
    for metric in metrics:
        _add(out, metric, metric.name or "", at)
    return out


def _add(out: list[Point], metric: Metric, key: str, at: int) -> None:
    if metric.is_null or metric.is_transient or metric.value is None or not key:
        return
    ts = metric.timestamp if metric.timestamp is not None else at
    if isinstance(metric.value, Template):
        for member in metric.value.metrics:
            if member.name:
                _add(out, member, f"{key}/{member.name}", ts)
        return
    if metric.datatype not in _STORED or len(key) > _MAX_KEY:
        return
    value = metric.value
    if isinstance(value, float) and not math.isfinite(value):
        return
    if metric.datatype == DataType.BOOLEAN:
        value = bool(value)
    out.append(Point(key, ts, value))


def command_metric(name: str, value: Any, datatype: int | None, now_ms: int) -> Metric:
    """A metric to write on a node or device; its type from the birth, else from the value."""
    kind = DataType(datatype) if datatype else _inferred(value)
    if kind in (DataType.FLOAT, DataType.DOUBLE) and isinstance(value, int):
        value = float(value)
    elif kind in (DataType.STRING, DataType.TEXT) and not isinstance(value, str):
        value = orjson.dumps(value).decode()
    return Metric(name=name, value=value, datatype=kind, timestamp=now_ms)


def _inferred(value: Any) -> DataType:
    if isinstance(value, bool):
        return DataType.BOOLEAN
    if isinstance(value, int):
        return DataType.INT64
    if isinstance(value, float):
        return DataType.DOUBLE
    return DataType.STRING
