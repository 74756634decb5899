"""Round trips and fuzzing: bad bytes give a typed error, never a crash or a big allocation."""

from __future__ import annotations

import contextlib
import random
import string
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taihu.identifiers import HandleValue
from taihu.identifiers.handle import TtlType
from taihu.identifiers.wire import (
    Envelope,
    ErrorBody,
    Header,
    IndexesRequest,
    Interface,
    Message,
    OpCode,
    OpFlag,
    ResolutionRequest,
    ResolutionResponse,
    ResponseCode,
    ServerRecord,
    ServiceType,
    SiteInfo,
    SiteInfoResponse,
    Transport,
    ValuesRequest,
    WireDecodeError,
    decode_message,
    decode_site,
    encode_message,
    encode_site,
)

texts = st.text(alphabet=string.ascii_letters + string.digits + "-._中文", min_size=1, max_size=40)
handles = st.builds(lambda p, s: f"88.{p}/{s}", st.integers(1, 9999), texts)
values = st.builds(
    HandleValue,
    index=st.integers(1, 2**32 - 1),
    type=texts,
    data=st.binary(max_size=300),
    ttl=st.integers(0, 2**32 - 1),
    ttl_type=st.sampled_from(TtlType),
    admin_read=st.booleans(),
    admin_write=st.booleans(),
    public_read=st.booleans(),
    public_write=st.booleans(),
    references=st.lists(st.tuples(st.integers(0, 2**32 - 1), handles), max_size=3).map(tuple),
)
envelopes = st.builds(
    Envelope,
    request_id=st.integers(0, 2**32 - 1),
    session_id=st.integers(0, 2**32 - 1),
    version=st.tuples(st.just(2), st.integers(0, 11)),
)
flags = st.sampled_from(list(OpFlag)).map(OpFlag)


@given(envelopes, flags, handles, st.lists(values, max_size=5, unique_by=lambda v: v.index))
def test_values_request_round_trip(
    envelope: Envelope, flag: OpFlag, handle: str, items: list[HandleValue]
) -> None:
    for op in (OpCode.CREATE_HANDLE, OpCode.ADD_VALUE, OpCode.MODIFY_VALUE):
        message = Message(envelope, Header(op, flags=flag), ValuesRequest(handle, tuple(items)))
        assert decode_message(encode_message(message)) == message


@given(
    envelopes,
    handles,
    st.lists(st.integers(0, 2**32 - 1), max_size=5).map(tuple),
    st.lists(texts, max_size=5).map(tuple),
)
def test_resolution_round_trip(
    envelope: Envelope, handle: str, indexes: tuple[int, ...], types: tuple[str, ...]
) -> None:
    request = Message(
        envelope, Header(OpCode.RESOLUTION), ResolutionRequest(handle, indexes, types)
    )
    assert decode_message(encode_message(request)) == request
    removal = Message(envelope, Header(OpCode.REMOVE_VALUE), IndexesRequest(handle, indexes))
    assert decode_message(encode_message(removal)) == removal


@given(envelopes, handles, st.lists(values, max_size=4).map(tuple), st.sampled_from(ResponseCode))
def test_responses_round_trip(
    envelope: Envelope, handle: str, items: tuple[HandleValue, ...], code: ResponseCode
) -> None:
    ok = Message(
        envelope, Header(OpCode.RESOLUTION, ResponseCode.SUCCESS), ResolutionResponse(handle, items)
    )
    assert decode_message(encode_message(ok)) == ok
    if code not in (ResponseCode.RESERVED, ResponseCode.SUCCESS, ResponseCode.AUTHEN_NEEDED,
                    ResponseCode.SERVICE_REFERRAL, ResponseCode.PREFIX_REFERRAL):  # fmt: skip
        error = Message(envelope, Header(OpCode.RESOLUTION, code), ErrorBody(handle, (1, 2)))
        assert decode_message(encode_message(error)) == error


ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
servers = st.builds(
    ServerRecord,
    server_id=st.integers(0, 2**32 - 1),
    address=st.one_of(ipv4.filter(lambda a: not a.startswith("0.")), st.just("2001:db8::1")),
    interfaces=st.lists(
        st.builds(Interface, st.sampled_from(ServiceType), st.sampled_from(Transport),
                  st.integers(0, 65535)), max_size=3,
    ).map(tuple),
    public_key=st.binary(max_size=40),
)  # fmt: skip


@given(st.lists(servers, min_size=1, max_size=3).map(tuple), st.integers(0, 65535))
def test_site_round_trip(records: tuple[ServerRecord, ...], serial: int) -> None:
    site = SiteInfo(servers=records, serial=serial, attributes=(("desc", "node"),))
    assert decode_site(encode_site(site)) == site
    message = Message(
        Envelope(1), Header(OpCode.GET_SITE_INFO, ResponseCode.SUCCESS), SiteInfoResponse(site)
    )
    assert decode_message(encode_message(message)) == message


def _decode_or_typed_error(data: bytes) -> None:
    with contextlib.suppress(WireDecodeError):
        decode_message(data)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_random_bytes_give_a_message_or_a_typed_error(data: bytes) -> None:
    _decode_or_typed_error(data)


SAMPLE = encode_message(
    Message(
        Envelope(7),
        Header(OpCode.CREATE_HANDLE),
        ValuesRequest(
            "88.1/X",
            (HandleValue(index=1, type="URL", data=b"https://x", references=((1, "88.1/Y"),)),),
        ),
    )
)


def test_mutated_messages_give_a_message_or_a_typed_error() -> None:
    rng = random.Random(3652)
    for _ in range(20_000):
        data = bytearray(SAMPLE)
        for _flip in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(len(data))]
        _decode_or_typed_error(bytes(data))


# The value count, then the first value's type length (envelope, header, "88.1/X", fields).
@pytest.mark.parametrize("offset", [20 + 24 + 10, 20 + 24 + 10 + 4 + 4 + 4 + 1 + 4 + 1])
def test_lying_counts_and_lengths_allocate_nothing(offset: int) -> None:
    """A value count (or a type length) of 2^32-1 is refused before anything is sized by it."""
    data = bytearray(SAMPLE)
    data[offset : offset + 4] = b"\xff\xff\xff\xff"
    tracemalloc.start()
    try:
        with pytest.raises(WireDecodeError):
            decode_message(bytes(data))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024


def test_oversized_and_wrong_version_messages_are_refused() -> None:
    huge = bytearray(SAMPLE)
    huge[16:20] = (8 * 1024 * 1024).to_bytes(4, "big")
    with pytest.raises(WireDecodeError, match="envelope says"):
        decode_message(bytes(huge))
    wrong = bytearray(SAMPLE)
    wrong[0] = 3
    with pytest.raises(WireDecodeError, match="version 3"):
        decode_message(bytes(wrong))
    unknown = bytearray(SAMPLE)
    unknown[20:24] = (999).to_bytes(4, "big")
    with pytest.raises(WireDecodeError, match="opcode 999"):
        decode_message(bytes(unknown))
