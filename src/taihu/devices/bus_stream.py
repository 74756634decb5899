"""The stream of device data: a work queue whose limits follow the settings.

    made by this version    retention work queue: a message goes once its partition's consumer
                            acknowledged it (after the commit); the partitions' consumers are
                            its only consumers (their subjects do not overlap)
    made by earlier ones    retention limits, which JetStream cannot change: used as it is, every
                            message kept until a limit removes it; a warning says how to migrate

Either way, at every start, its age and size limits follow ``TAIHU_CLUSTER_STREAM_MAX_AGE`` and
``TAIHU_CLUSTER_STREAM_MAX_BYTES``, and a full stream refuses a publish (discard new): the
transport then does not acknowledge the device, which sends again. Nothing a device was told is
stored is dropped to make room; only an age limit removes messages, stored or not.

A work queue rather than interest retention: interest drops a message that no consumer wants
yet, and transports may publish before the first ingest process made the consumers.
"""

from __future__ import annotations

import logging

import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from taihu.devices.bus_partitions import when_ready
from taihu.settings import ClusterSettings

__all__ = ["open_stream"]

log = logging.getLogger("taihu.devices.bus")
_DUPLICATE_WINDOW = 120.0  # JetStream's default, which must not exceed the max age
# Earlier servers may make room by dropping the oldest messages while they ack the new one,
# discard new or not (nats-server issue 4771).
_REFUSES_WHEN_FULL = (2, 10, 5)


async def open_stream(nc: NatsClient, js: JetStreamContext, settings: ClusterSettings) -> None:
    """Make the stream if missing, else bring its limits to the settings.

    ``ConnectionError`` (the setting named) when a size limit is set and the server would not
    keep it safely.
    """
    s = settings
    server = nc.connected_server_version
    version = (server.major, server.minor, server.patch)
    if s.stream_max_bytes and version < _REFUSES_WHEN_FULL:
        raise ConnectionError(
            "TAIHU_CLUSTER_STREAM_MAX_BYTES needs nats-server 2.10.5 or later (this one is "
            f"{'.'.join(map(str, version))}): earlier ones drop old messages to make room"
        )
    config = StreamConfig(
        name=s.stream,
        subjects=[f"{s.subject_prefix}.>"],
        storage=StorageType.FILE,
        num_replicas=s.replicas,
        retention=RetentionPolicy.WORK_QUEUE,
    )
    _follow(config, s)
    what, within = f"stream {s.stream}", s.connect_timeout
    try:
        await when_ready(what, lambda: js.add_stream(config), within)
    except nats.js.errors.BadRequestError:
        pass  # it exists with another configuration
    else:
        return
    current = (await when_ready(what, lambda: js.stream_info(s.stream), within)).config
    changes = _follow(current, s)
    if changes:
        # Its replicas and retention are kept (an operator's `nats stream edit`, or none).
        await when_ready(what, lambda: js.update_stream(current), within)
        log.info("stream %s: %s", s.stream, ", ".join(changes))
    if current.retention != RetentionPolicy.WORK_QUEUE:
        log.warning(
            "stream %s keeps device data after it is stored (retention %s, made by an earlier "
            "version): drain it and delete it to have it made again as a work queue "
            "(docs/deployment.md, 'The stream of earlier versions')",
            s.stream, current.retention,
        )  # fmt: skip


def _follow(config: StreamConfig, settings: ClusterSettings) -> list[str]:
    """Set the settings' limits and discard new on a stream's config; what changed, in words."""
    age = settings.stream_max_age
    wanted: dict[str, object] = {
        "max_age": age,  # 0: none
        "max_bytes": settings.stream_max_bytes or -1,  # -1: none
        "discard": DiscardPolicy.NEW,
    }
    if age and (config.duplicate_window or _DUPLICATE_WINDOW) > age:
        wanted["duplicate_window"] = age
    changes = []
    for name, value in wanted.items():
        before = getattr(config, name)
        if before != value:
            changes.append(f"{name} {_shown(before)} -> {_shown(value)}")
            setattr(config, name, value)
    return changes


def _shown(value: object) -> str:
    if isinstance(value, DiscardPolicy):
        return value.value
    if value in (None, 0, -1):
        return "none"
    return f"{value:g}" if isinstance(value, float) else str(value)
