"""Modbus register codec: 16-bit registers in, typed values out; read planning.

A value of several registers is assembled from its words in ``word_order`` and the bytes of the
whole in ``byte_order`` ("big"/"big" is the Modbus standard, ABCD; "big"/"little" is CDAB,
common in meters; "little"/"big" is BADC; "little"/"little" is DCBA).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["REGISTERS", "Block", "decode", "encode", "plan_reads"]

# Registers a type spans; bits (coils, discrete inputs) count as one.
REGISTERS = {"bool": 1, "int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2,
             "float64": 4}  # fmt: skip
_STRUCT = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "float32": "f",
           "float64": "d"}  # fmt: skip
# Largest single reads the protocol allows (Modbus application protocol v1.1b3, 6.1-6.4).
_MAX_REGISTERS = 125
_MAX_BITS = 2000


def _raw(registers: Sequence[int], byte_order: str, word_order: str) -> bytes:
    words = list(registers) if word_order == "big" else list(reversed(registers))
    data = b"".join(struct.pack(">H", w & 0xFFFF) for w in words)
    if byte_order == "little":
        # Each word's two bytes swapped, words kept where word_order put them.
        data = b"".join(data[i + 1 : i + 2] + data[i : i + 1] for i in range(0, len(data), 2))
    return data


def decode(
    registers: Sequence[int],
    type_: str,
    *,
    byte_order: str = "big",
    word_order: str = "big",
    scale: float = 1.0,
    offset: float = 0.0,
) -> int | float | bool:
    """The value of ``registers`` (exactly as many as the type spans), scaled and offset."""
    if type_ == "bool":
        return bool(registers[0])
    if len(registers) != REGISTERS[type_]:
        raise ValueError(f"{type_} spans {REGISTERS[type_]} registers, got {len(registers)}")
    (value,) = struct.unpack(">" + _STRUCT[type_], _raw(registers, byte_order, word_order))
    if scale == 1.0 and offset == 0.0:
        return value  # type: ignore[no-any-return]
    return value * scale + offset  # type: ignore[no-any-return]


def encode(
    value: float, type_: str, *, byte_order: str = "big", word_order: str = "big"
) -> list[int]:
    """The registers holding ``value`` (the inverse of ``decode`` without scale): for simulators."""
    if type_ == "bool":
        return [int(bool(value))]
    packed = struct.pack(">" + _STRUCT[type_], value)
    words = [int.from_bytes(packed[i : i + 2], "big") for i in range(0, len(packed), 2)]
    # _raw is its own inverse for these reorderings.
    raw = _raw(words, byte_order, word_order)
    return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]


@dataclass(frozen=True, slots=True)
class Block:
    """One read request: ``count`` registers or bits of a table from ``address``."""

    table: str
    address: int
    count: int


def plan_reads(spans: Sequence[tuple[str, int, int]], gap: int = 8) -> list[Block]:
    """Merge (table, address, registers) spans into as few reads as the protocol allows.

    Spans closer than ``gap`` are read together, as reading a few unused registers costs less
    than another round trip.
    """
    blocks: list[Block] = []
    for table in sorted({t for t, _, _ in spans}):
        limit = _MAX_BITS if table in ("coil", "discrete") else _MAX_REGISTERS
        start = end = -1
        for _, address, size in sorted(s for s in spans if s[0] == table):
            if start >= 0 and address <= end + gap and max(end, address + size) - start <= limit:
                end = max(end, address + size)
                continue
            if start >= 0:
                blocks.append(Block(table, start, end - start))
            start, end = address, address + size
        blocks.append(Block(table, start, end - start))
    return blocks
