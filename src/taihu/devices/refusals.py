"""What the hub refuses of a device, and how it tells it.

Rejections are told, never silent, and never block what follows. MQTT 5 gets a PUBACK with the
reason: 0x99 for a malformed payload, 0x90 for a topic outside the API, 0x97 (quota exceeded) over
a rate limit (at QoS 0, DISCONNECT 0x96), 0x83 when the store is unavailable. MQTT 3.1.1 has no
negative PUBACK: a permanent refusal (a resend would be refused again) is acknowledged and
dropped, a transient one (rate limit, store unavailable) is left unacknowledged and the client is
disconnected, so it sends the message again. Each is recorded on the device (see
``taihu.devices.rejects``) and counted in ``taihu_device_rejects_total``.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from sqlalchemy.exc import InterfaceError, OperationalError

from taihu.core import N_, InvalidInput, Message, NotFound, PermissionDenied, TaihuError
from taihu.devices.limits import RateLimiter, parse_rate_limits
from taihu.devices.mqtt.reasons import Reason
from taihu.devices.mqtt.transport import Ack
from taihu.devices.session import DeviceState, HubStats
from taihu.devices.values import BadPayload

if TYPE_CHECKING:
    from taihu.devices.rejects import RejectLog
    from taihu.devices.service import DeviceAuth

__all__ = ["Refusals", "not_stored_message"]

log = logging.getLogger("taihu.devices")


def not_stored_message(error: str) -> Message:
    """The message of data the store could not take."""
    return Message(N_("not stored: {error}"), error=error)


def _why(exc: BadPayload | TaihuError) -> Message:
    """The message of a refused payload or a domain error, with its values."""
    if isinstance(exc, BadPayload):
        return exc.message
    return Message(exc.template, **exc.details)


class Refusals:
    """The devices' rate limits and refusal counters, and the answer to each refused message."""

    def __init__(self, stats: HubStats, rejects: RejectLog) -> None:
        self.stats = stats
        self.rejects = rejects
        self.devices: dict[int, DeviceState] = {}

    def state(self, auth: DeviceAuth) -> DeviceState:
        """The running state of a device."""
        state = self.devices.get(auth.device_id)
        if state is None:
            state = DeviceState(
                RateLimiter(parse_rate_limits(auth.rate_limits)),
                RateLimiter(parse_rate_limits(auth.data_point_limits)),
            )
            self.devices[auth.device_id] = state
        return state

    def _refused(
        self, auth: DeviceAuth | None, reason: str, code: int, message: Message, *,
        topic: str = "", transport: str = "mqtt", transient: bool = False,
        disconnect: bool = False,
    ) -> Ack:  # fmt: skip
        """Count and record a refusal on the device; the acknowledgement that tells it.

        The device is told the message in English (the reason string of ThingsBoard's API);
        the record keeps the message to show it in each reader's language.
        """
        self.stats.rejected += 1
        text = message.render()
        if auth is not None:
            state = self.state(auth)
            state.errors.append((time.time(), text))
            if reason == "malformed":
                state.malformed += 1
            elif reason in {"rate_limited", "too_many_points"}:
                state.rate_limited += 1
            self.rejects.record(
                auth.device_id, reason, code, message, transport=transport, topic=topic
            )
        return Ack(code, text, disconnect=disconnect, transient=transient)

    def failed(self, auth: DeviceAuth | None, topic: str, exc: Exception) -> Ack:
        """The answer to a message whose handling raised, told permanent from transient."""
        if isinstance(exc, BadPayload | InvalidInput):  # the message is wrong: 0x99
            if auth is None:
                return Ack(Reason.PAYLOAD_FORMAT_INVALID, str(exc))
            return self.reject_payload(auth, _why(exc), topic=topic)
        if isinstance(exc, PermissionDenied | NotFound):  # acts for what it may not: 0x87
            return self._refused(auth, "not_authorized", Reason.NOT_AUTHORIZED, _why(exc),
                                 topic=topic)  # fmt: skip
        if isinstance(exc, OSError | TimeoutError | OperationalError | InterfaceError):
            # The database is unreachable or busy: the same message may pass later.
            log.warning("device message on %s not handled: %s", topic, exc)
            message = not_stored_message(str(exc))
            return self._refused(auth, "not_stored", Reason.IMPLEMENTATION_SPECIFIC_ERROR,
                                 message, topic=topic, transient=True)  # fmt: skip
        # A fault of ours on this message: it would fail again, so it must not block the
        # device (a 3.1.1 client gets it acknowledged and dropped).
        log.error("device message on %s failed", topic, exc_info=exc)
        return self._refused(auth, "internal", Reason.IMPLEMENTATION_SPECIFIC_ERROR,
                             Message(N_("internal error")), topic=topic)  # fmt: skip

    def refuse(
        self, auth: DeviceAuth, reason: str, code: int, message: Message, *, topic: str = "",
        transport: str = "mqtt",
    ) -> Ack:  # fmt: skip
        """A permanent refusal of a message (reason: a key of ``rejects.REASONS``), recorded."""
        return self._refused(auth, reason, code, message, topic=topic, transport=transport)

    def reject_payload(
        self, auth: DeviceAuth, message: Message, *, topic: str = "", transport: str = "mqtt"
    ) -> Ack:
        """A malformed payload: counted, recorded, answered with 0x99 (permanent)."""
        return self._refused(auth, "malformed", Reason.PAYLOAD_FORMAT_INVALID, message,
                             topic=topic, transport=transport)  # fmt: skip

    def reject_topic(self, auth: DeviceAuth, topic: str, template: str) -> Ack:
        """A topic outside the API: counted, recorded, answered with 0x90 (permanent).

        ``template`` names the API (``N_("{topic} is not a topic of the device API")``).
        """
        message = Message(template, topic=repr(topic[:200]))
        return self._refused(auth, "topic", Reason.TOPIC_NAME_INVALID, message, topic=topic)

    def reject_rate(
        self, auth: DeviceAuth, qos: int, *, topic: str = "", transport: str = "mqtt"
    ) -> Ack:
        """A message over the device's rate limit: PUBACK 0x97, or at QoS 0 DISCONNECT 0x96.

        MQTT 5 allows "message rate too high" (0x96) only in DISCONNECT; a PUBACK says "quota
        exceeded" (0x97), with the limit in the reason string. Transient: sent again later, the
        message passes.
        """
        message = Message(N_("over the rate limit {rate_limits}"), rate_limits=auth.rate_limits)
        code = Reason.MESSAGE_RATE_TOO_HIGH if qos == 0 else Reason.QUOTA_EXCEEDED
        return self._refused(auth, "rate_limited", code, message, topic=topic,
                             transport=transport, transient=True, disconnect=qos == 0)  # fmt: skip

    def refuse_child(self, auth: DeviceAuth, message: Message, topic: str = "") -> None:
        """A gateway's item for a device it may not act for: recorded, not stored.

        The gateway API has no per-device answer, so the message's PUBACK stays a success.
        """
        self.state(auth).refused_children += 1
        self._refused(auth, "not_authorized", Reason.NOT_AUTHORIZED, message, topic=topic)

    def admit_points(
        self, auth: DeviceAuth, count: int, qos: int, *, topic: str = "", transport: str = "mqtt"
    ) -> Ack | None:
        """Take ``count`` data points from the device's budget; the rejection when over it.

        Like the message limit, it is told: PUBACK 0x97 (or, at QoS 0, DISCONNECT 0x96) with the
        limit in the reason string, and nothing of the message is stored. A message with more
        points than the smallest bucket holds can never pass: that refusal is permanent.
        """
        limiter = self.state(auth).points
        if limiter.take(time.monotonic(), count):
            return None
        message = Message(N_("over the data point limit {limits} ({count} in this message)"),
                          limits=auth.data_point_limits, count=count)  # fmt: skip
        code = Reason.MESSAGE_RATE_TOO_HIGH if qos == 0 else Reason.QUOTA_EXCEEDED
        never = count > min(limit.capacity for limit in limiter.limits)
        return self._refused(
            auth, "too_many_points" if never else "rate_limited", code, message, topic=topic,
            transport=transport, transient=not never, disconnect=qos == 0,
        )  # fmt: skip
