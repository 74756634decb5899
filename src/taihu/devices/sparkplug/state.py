"""The host's view of each edge node: births, bdSeq, seq (0-255, wrapping) and metric aliases.

    message        accepted when                                   otherwise
    NBIRTH         always (a new session: seq starts again)        —
    DBIRTH         its node was born                               rebirth
    NDATA, DDATA   its node (and device) was born, aliases known   rebirth, data dropped
    DDEATH         its node was born                               ignored
    NDEATH         its bdSeq is the birth's (else an old session)  ignored

Every message but NBIRTH and NDEATH carries the next seq: a gap (or a repeat) asks for a rebirth,
while the message itself is kept, since its metrics are still whole. No I/O here: the host acts
on the verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

from taihu.devices.sparkplug.codec import DataType, Metric, Payload, Topic

__all__ = ["BD_SEQ", "REBIRTH", "Edge", "NodeTracker", "Verdict"]

BD_SEQ = "bdSeq"
REBIRTH = "Node Control/Rebirth"
_SEQ_MODULO = 256


class Verdict(Enum):
    """What the host does with a message."""

    ACCEPT = "accept"  # use it
    ACCEPT_AND_REBIRTH = "accept_and_rebirth"  # use it, and ask the node for a new birth
    REBIRTH = "rebirth"  # drop it, ask for a new birth
    IGNORE = "ignore"  # drop it (a stale death, a death of what was never born)


@dataclass(slots=True)
class _Birth:
    """The metrics of a node's or device's birth: names by alias, data types by name."""

    names: dict[int, str] = field(default_factory=dict)
    types: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, metrics: tuple[Metric, ...]) -> _Birth:
        birth = cls()
        for metric in metrics:
            if metric.name is None:
                continue
            if metric.alias is not None:
                birth.names[metric.alias] = metric.name
            birth.types[metric.name] = metric.datatype
        return birth


@dataclass(slots=True)
class Edge:
    """What is known of one edge node's current session."""

    bd_seq: int | None = None
    seq: int | None = None
    born: bool = False
    node: _Birth = field(default_factory=_Birth)
    devices: dict[str, _Birth] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """A verdict, with the message's metrics named and typed from the birth."""

    verdict: Verdict
    metrics: tuple[Metric, ...] = ()
    reason: str = ""


class NodeTracker:
    """Births, sequence numbers and aliases of every edge node the host hears."""

    def __init__(self) -> None:
        self.edges: dict[tuple[str, str], Edge] = {}

    def edge(self, topic: Topic) -> Edge:
        """The state of a topic's edge node."""
        return self.edges.setdefault((topic.group_id, topic.edge_node_id), Edge())

    def receive(self, topic: Topic, payload: Payload) -> Outcome:  # noqa: PLR0911 - per kind
        """Check a message against its node's state and update that state."""
        edge = self.edge(topic)
        kind = topic.kind
        if kind == "NBIRTH":
            bd_seq = payload.metric(BD_SEQ)
            edge.bd_seq = bd_seq.value if bd_seq is not None else None
            edge.seq = payload.seq
            edge.born = True
            edge.node = _Birth.of(payload.metrics)
            edge.devices.clear()
            return Outcome(Verdict.ACCEPT, self._named(edge.node, payload.metrics))
        if kind == "NDEATH":
            bd_seq = payload.metric(BD_SEQ)
            if not edge.born or (
                bd_seq is not None and edge.bd_seq is not None and bd_seq.value != edge.bd_seq
            ):
                return Outcome(Verdict.IGNORE, reason="a death of another session")
            edge.born = False
            edge.devices.clear()
            return Outcome(Verdict.ACCEPT)
        if kind not in {"DBIRTH", "NDATA", "DDATA", "DDEATH"}:
            return Outcome(Verdict.IGNORE, reason=f"{kind} is not for a host")
        if not edge.born:
            if kind == "DDEATH":
                return Outcome(Verdict.IGNORE, reason="a death before any birth")
            return Outcome(Verdict.REBIRTH, reason=f"{kind} before the node's birth")
        in_order = self._next_seq(edge, payload.seq)
        if kind == "DBIRTH":
            assert topic.device_id is not None  # parse_topic sees to it
            born = edge.devices[topic.device_id] = _Birth.of(payload.metrics)
            return self._ordered(in_order, self._named(born, payload.metrics))
        if kind == "DDEATH":
            assert topic.device_id is not None
            known = edge.devices.pop(topic.device_id, None) is not None
            if not known:
                return Outcome(Verdict.IGNORE, reason="a death of a device never born")
            return self._ordered(in_order, ())
        birth = edge.node if topic.device_id is None else edge.devices.get(topic.device_id)
        if birth is None:
            return Outcome(Verdict.REBIRTH, reason="DDATA before the device's birth")
        named = self._named(birth, payload.metrics)
        if len(named) < len(payload.metrics):
            return Outcome(Verdict.REBIRTH, reason="a metric alias the birth did not define")
        return self._ordered(in_order, named)

    @staticmethod
    def _ordered(in_order: bool, metrics: tuple[Metric, ...]) -> Outcome:
        if in_order:
            return Outcome(Verdict.ACCEPT, metrics)
        return Outcome(Verdict.ACCEPT_AND_REBIRTH, metrics, "a gap in the sequence numbers")

    @staticmethod
    def _next_seq(edge: Edge, seq: int | None) -> bool:
        """Record ``seq``; whether it follows the last one (255 is followed by 0)."""
        expected = None if edge.seq is None else (edge.seq + 1) % _SEQ_MODULO
        edge.seq = seq
        return seq is not None and (expected is None or seq == expected)

    @staticmethod
    def _named(birth: _Birth, metrics: tuple[Metric, ...]) -> tuple[Metric, ...]:
        """Metrics with their names (from aliases) and data types (from the birth)."""
        out = []
        for metric in metrics:
            name = metric.name
            if name is None and metric.alias is not None:
                name = birth.names.get(metric.alias)
            if name is None:
                continue
            datatype = metric.datatype or birth.types.get(name, DataType.UNKNOWN)
            if name != metric.name or datatype != metric.datatype:
                out.append(replace(metric, name=name, datatype=datatype))
            else:
                out.append(metric)
        return tuple(out)

    def forget(self) -> None:
        """Forget every node (the host lost its broker connection: births come again)."""
        self.edges.clear()
