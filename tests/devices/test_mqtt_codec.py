"""The MQTT codec: byte-exact vectors, round trips (hypothesis) and hostile input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taihu.devices.mqtt import (
    ConnAck,
    Connect,
    Disconnect,
    MalformedPacket,
    PingReq,
    PingResp,
    Properties,
    PubAck,
    Publish,
    Reason,
    SubAck,
    Subscribe,
    Subscription,
    UnsubAck,
    Unsubscribe,
    Will,
    decode_packet,
    encode_packet,
    read_varint,
    split_packet,
    topic_matches,
    varint,
)


def roundtrip(packet: object, version: int) -> object:
    data = encode_packet(packet, version)  # type: ignore[arg-type]
    first, offset, length = split_packet(data, len(data))  # type: ignore[misc]
    assert offset + length == len(data)
    return decode_packet(first, data[offset:], version)


# -- vectors -----------------------------------------------------------------------------------


def test_connect_311_vector() -> None:
    # CONNECT, MQTT 3.1.1, clean session, keep alive 60, client "c1", user "tok".
    data = bytes.fromhex("101300044d5154540482003c000263310003746f6b")
    first, offset, _ = split_packet(data, 1024)  # type: ignore[misc]
    packet = decode_packet(first, data[offset:], 4)
    assert packet == Connect(4, "c1", 60, clean_start=True, username="tok")
    assert encode_packet(packet, 4) == data


def test_connack_and_puback_v5_vectors() -> None:
    assert encode_packet(ConnAck(reason=Reason.BAD_USERNAME_OR_PASSWORD), 5) == bytes.fromhex(
        "2003008600"
    )
    assert encode_packet(ConnAck(reason=0x05), 4) == bytes.fromhex("20020005")
    # Success without properties is the short form (§3.4.2.1).
    assert encode_packet(PubAck(7), 5) == bytes.fromhex("40020007")
    props = Properties(reason_string="bad")
    assert encode_packet(PubAck(7, Reason.PAYLOAD_FORMAT_INVALID, props), 5) == bytes.fromhex(
        "400a000799061f0003626164"
    )


def test_publish_with_topic_alias_vector() -> None:
    packet = Publish("a/b", b"{}", 1, packet_id=10, properties=Properties(topic_alias=3))
    data = encode_packet(packet, 5)
    assert data == bytes.fromhex("320d0003612f62000a032300037b7d")
    assert roundtrip(packet, 5) == packet


def test_varint_boundaries() -> None:
    for value, encoded in [
        (0, "00"), (127, "7f"), (128, "8001"), (16383, "ff7f"), (16384, "808001"),
        (2097151, "ffff7f"), (2097152, "80808001"), (268435455, "ffffff7f"),
    ]:  # fmt: skip
        assert varint(value).hex() == encoded
        assert read_varint(bytes.fromhex(encoded)) == (value, len(encoded) // 2)
    with pytest.raises(MalformedPacket):
        read_varint(b"\xff\xff\xff\xff\x01")
    assert read_varint(b"\x80") is None


def test_topic_matching() -> None:
    assert topic_matches("v1/devices/me/rpc/request/+", "v1/devices/me/rpc/request/42")
    assert not topic_matches("v1/devices/me/rpc/request/+", "v1/devices/me/rpc/request/4/2")
    assert topic_matches("v1/#", "v1/devices/me/attributes")
    assert topic_matches("#", "a")
    assert not topic_matches("#", "$SYS/x")
    assert not topic_matches("a/+", "a")


# -- round trips -------------------------------------------------------------------------------

text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=30,
)
topic = text.filter(lambda t: t and "+" not in t and "#" not in t)
props5 = st.builds(
    Properties,
    session_expiry_interval=st.none() | st.integers(0, 2**32 - 1),
    receive_maximum=st.none() | st.integers(1, 65535),
    maximum_packet_size=st.none() | st.integers(1, 2**32 - 1),
    topic_alias=st.none() | st.integers(1, 65535),
    reason_string=st.none() | text,
    correlation_data=st.none() | st.binary(max_size=20),
    response_topic=st.none() | topic,
    user_properties=st.lists(st.tuples(text, text), max_size=3).map(tuple),
    subscription_identifiers=st.lists(st.integers(1, 268435455), max_size=2).map(tuple),
)


@st.composite
def publishes(draw: st.DrawFn, version: int) -> Publish:
    qos = draw(st.integers(0, 1))
    return Publish(
        draw(topic), draw(st.binary(max_size=200)), qos, draw(st.booleans()),
        draw(st.booleans()) if qos else False, draw(st.integers(1, 65535)) if qos else None,
        draw(props5) if version == 5 else Properties(),
    )  # fmt: skip


@st.composite
def connects(draw: st.DrawFn, version: int) -> Connect:
    will = draw(
        st.none() | st.builds(
            Will, topic, st.binary(max_size=50), st.integers(0, 2), st.booleans(),
            props5 if version == 5 else st.just(Properties()),
        )
    )  # fmt: skip
    username = draw(st.none() | text)
    password = draw(st.none() | st.binary(max_size=30)) if username is not None else None
    return Connect(
        version, draw(text), draw(st.integers(0, 65535)), draw(st.booleans()), username, password,
        will, draw(props5) if version == 5 else Properties(),
    )  # fmt: skip


@st.composite
def packets(draw: st.DrawFn) -> tuple[int, object]:
    version = draw(st.sampled_from([4, 5]))
    v5 = version == 5
    p = props5 if v5 else st.just(Properties())
    pid = st.integers(1, 65535)
    reasons = st.lists(st.sampled_from([0, 1, 0x80, 0x87]), min_size=1, max_size=4).map(tuple)
    subscription = st.builds(
        Subscription, topic, st.integers(0, 2),
        *(st.booleans(), st.booleans(), st.integers(0, 2)) if v5 else (),
    )  # fmt: skip
    packet = draw(
        st.one_of(
            connects(version),
            publishes(version),
            st.builds(ConnAck, st.booleans(), st.sampled_from([0, 0x86, 0x87]), p),
            st.builds(PubAck, pid, st.sampled_from([0, 0x99]) if v5 else st.just(0), p)
            if v5 else st.builds(PubAck, pid),
            st.builds(Subscribe, pid, st.lists(subscription, min_size=1, max_size=4).map(tuple), p),
            st.builds(SubAck, pid, reasons, p),
            st.builds(Unsubscribe, pid, st.lists(topic, min_size=1, max_size=3).map(tuple), p),
            st.builds(UnsubAck, pid, reasons, p) if v5 else st.builds(UnsubAck, pid),
            st.just(PingReq()),
            st.just(PingResp()),
            st.builds(Disconnect, st.sampled_from([0, 0x8E, 0x96]), p)
            if v5 else st.just(Disconnect()),
        )
    )  # fmt: skip
    return version, packet


@settings(max_examples=300, deadline=None)
@given(packets())
def test_every_packet_survives_a_round_trip(case: tuple[int, object]) -> None:
    version, packet = case
    assert roundtrip(packet, version) == packet


# -- hostile input -----------------------------------------------------------------------------


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 255), st.binary(max_size=300), st.sampled_from([4, 5]))
def test_garbage_is_refused_cleanly(first: int, body: bytes, version: int) -> None:
    reason = 0x80
    try:
        decode_packet(first, body, version)
    except MalformedPacket as exc:
        reason = exc.reason
    assert reason >= 0x80  # anything else (IndexError, struct.error…) fails the test


@settings(max_examples=300, deadline=None)
@given(packets(), st.data())
def test_truncated_or_corrupted_packets_are_refused_cleanly(
    case: tuple[int, object], data: st.DataObject
) -> None:
    version, packet = case
    raw = bytearray(encode_packet(packet, version))  # type: ignore[arg-type]
    if len(raw) > 2:
        i = data.draw(st.integers(2, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
        raw = raw[: data.draw(st.integers(i, len(raw)))]
    try:
        head = split_packet(raw, 1 << 20)
        if head is not None:
            first, offset, _ = head
            decode_packet(first, bytes(raw[offset:]), version)
    except MalformedPacket:
        pass


def test_an_oversize_packet_is_refused_from_its_header() -> None:
    # Only the fixed header is present: a 200 MB claim is refused before any body is buffered.
    header = bytes([0x30]) + varint(200_000_000)
    with pytest.raises(MalformedPacket) as caught:
        split_packet(header, 65536)
    assert caught.value.reason == Reason.PACKET_TOO_LARGE
    assert split_packet(header[:2], 65536) is None


@pytest.mark.parametrize(
    ("first", "body", "reason"),
    [
        (0x32, bytes.fromhex("0003612f2b0001"), Reason.TOPIC_NAME_INVALID),  # wildcard topic
        (0x36, bytes.fromhex("0001610001"), Reason.MALFORMED_PACKET),  # QoS 3
        (0x80, bytes.fromhex("000100016100"), Reason.MALFORMED_PACKET),  # bad SUBSCRIBE flags
        (0x32, bytes.fromhex("0001610000"), Reason.PROTOCOL_ERROR),  # packet id 0
        (0x10, bytes.fromhex("00044d515454070000000000"), Reason.UNSUPPORTED_PROTOCOL_VERSION),
        (0x30, bytes.fromhex("0002c3"), Reason.MALFORMED_PACKET),  # runs past the end
        (0x30, bytes.fromhex("0001ff"), Reason.MALFORMED_PACKET),  # invalid UTF-8
    ],
)
def test_specific_malformations(first: int, body: bytes, reason: Reason) -> None:
    with pytest.raises(MalformedPacket) as caught:
        decode_packet(first, body, 4)
    assert caught.value.reason == reason


def test_duplicate_property_is_malformed() -> None:
    # PUBACK v5 with reason 0 and two topic-alias-maximum properties.
    body = bytes.fromhex("00010006220001220002")
    with pytest.raises(MalformedPacket):
        decode_packet(0x40, body, 5)
