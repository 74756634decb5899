"""The Modbus register codec and read planning: pure functions."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from taihu.edge import decode, encode, plan_reads
from taihu.edge.codec import Block

ORDERS = [("big", "big"), ("big", "little"), ("little", "big"), ("little", "little")]


def test_known_layouts_of_a_float32() -> None:
    # 123.456 as IEEE 754 is 0x42F6E979: ABCD, CDAB, BADC and DCBA layouts of it.
    assert decode([0x42F6, 0xE979], "float32") == pytest.approx(123.456, rel=1e-6)
    assert decode([0xE979, 0x42F6], "float32", word_order="little") == pytest.approx(123.456, 1e-6)
    assert decode([0xF642, 0x79E9], "float32", byte_order="little") == pytest.approx(123.456, 1e-6)
    assert decode(
        [0x79E9, 0xF642], "float32", byte_order="little", word_order="little"
    ) == pytest.approx(123.456, rel=1e-6)


def test_integers_signs_scale_and_offset() -> None:
    assert decode([0xFFFF], "int16") == -1
    assert decode([0xFFFF], "uint16") == 65535
    assert decode([0xFFFF, 0xFFFE], "int32") == -2
    assert decode([0x0001, 0x0000], "uint32") == 65536
    assert decode([0x0000, 0x0001], "uint32", word_order="little") == 65536
    assert decode([2305], "uint16", scale=0.1, offset=-10) == pytest.approx(220.5)
    assert decode([1], "bool") is True
    with pytest.raises(ValueError, match="float64 spans 4 registers, got 2"):
        decode([0, 0], "float64")


@given(
    st.sampled_from(["int16", "uint16", "int32", "uint32", "float32", "float64"]),
    st.sampled_from(ORDERS),
    st.data(),
)
def test_encode_and_decode_are_inverse(
    type_: str, order: tuple[str, str], data: st.DataObject
) -> None:
    bits = {"int16": 16, "uint16": 16, "int32": 32, "uint32": 32}.get(type_)
    if type_.startswith("uint"):
        value: float = data.draw(st.integers(0, 2**bits - 1))  # type: ignore[operator]
    elif bits:
        value = data.draw(st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1))
    else:
        value = data.draw(st.floats(allow_nan=False, width=32 if type_ == "float32" else 64))
    byte_order, word_order = order
    words = encode(value, type_, byte_order=byte_order, word_order=word_order)
    assert all(0 <= w <= 0xFFFF for w in words)
    back = decode(words, type_, byte_order=byte_order, word_order=word_order)
    assert back == value or (math.isinf(value) and back == value)


def test_reads_are_merged_within_protocol_limits() -> None:
    spans = [("holding", 0, 2), ("holding", 2, 2), ("holding", 10, 1), ("holding", 200, 4),
             ("input", 5, 1), ("coil", 0, 1), ("coil", 1999, 1), ("coil", 3000, 1)]  # fmt: skip
    assert plan_reads(spans) == [
        Block("coil", 0, 1), Block("coil", 1999, 1), Block("coil", 3000, 1),
        Block("holding", 0, 11), Block("holding", 200, 4), Block("input", 5, 1),
    ]  # fmt: skip
    # 125 registers at most per read.
    long = plan_reads([("holding", a, 2) for a in range(0, 300, 2)])
    assert [b.count for b in long] == [124, 124, 52]
