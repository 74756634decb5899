"""MQTT 5 reason codes (OASIS MQTT 5.0 §2.4) and their MQTT 3.1.1 CONNACK equivalents."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["V3_CONNACK", "Reason"]


class Reason(IntEnum):
    """Reason codes the hub sends or understands."""

    SUCCESS = 0x00
    GRANTED_QOS_1 = 0x01
    DISCONNECT_WITH_WILL = 0x04
    NO_MATCHING_SUBSCRIBERS = 0x10
    UNSPECIFIED_ERROR = 0x80
    MALFORMED_PACKET = 0x81
    PROTOCOL_ERROR = 0x82
    IMPLEMENTATION_SPECIFIC_ERROR = 0x83
    UNSUPPORTED_PROTOCOL_VERSION = 0x84
    CLIENT_IDENTIFIER_NOT_VALID = 0x85
    BAD_USERNAME_OR_PASSWORD = 0x86
    NOT_AUTHORIZED = 0x87
    SERVER_UNAVAILABLE = 0x88
    SERVER_BUSY = 0x89
    BANNED = 0x8A
    SERVER_SHUTTING_DOWN = 0x8B
    KEEP_ALIVE_TIMEOUT = 0x8D
    SESSION_TAKEN_OVER = 0x8E
    TOPIC_FILTER_INVALID = 0x8F
    TOPIC_NAME_INVALID = 0x90
    PACKET_ID_IN_USE = 0x91
    RECEIVE_MAXIMUM_EXCEEDED = 0x93
    TOPIC_ALIAS_INVALID = 0x94
    PACKET_TOO_LARGE = 0x95
    MESSAGE_RATE_TOO_HIGH = 0x96
    QUOTA_EXCEEDED = 0x97
    ADMINISTRATIVE_ACTION = 0x98
    PAYLOAD_FORMAT_INVALID = 0x99
    QOS_NOT_SUPPORTED = 0x9B
    CONNECTION_RATE_EXCEEDED = 0x9F

    @property
    def is_error(self) -> bool:
        """Whether the code reports a failure."""
        return self.value >= 0x80


# MQTT 3.1.1 CONNACK return codes (§3.2.2.3) for the MQTT 5 reasons the hub refuses with.
V3_CONNACK = {
    Reason.SUCCESS: 0x00,
    Reason.UNSUPPORTED_PROTOCOL_VERSION: 0x01,
    Reason.CLIENT_IDENTIFIER_NOT_VALID: 0x02,
    Reason.SERVER_UNAVAILABLE: 0x03,
    Reason.SERVER_BUSY: 0x03,
    Reason.QUOTA_EXCEEDED: 0x03,
    Reason.CONNECTION_RATE_EXCEEDED: 0x03,
    Reason.BAD_USERNAME_OR_PASSWORD: 0x04,
    Reason.NOT_AUTHORIZED: 0x05,
}
