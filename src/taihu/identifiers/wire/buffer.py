"""Bounded reading and writing of RFC 3651 primitives: big-endian integers, strings, lists.

Every length and count read from the wire is checked against the bytes actually left before
anything is allocated, so a lying length or a count of 2^32 costs nothing but a ``WireDecodeError``.
"""

from __future__ import annotations

import struct

__all__ = ["Reader", "WireDecodeError", "Writer"]

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class WireDecodeError(ValueError):
    """Bytes that are not a well-formed Handle protocol message (truncated, lying, oversized)."""


class Reader:
    """A cursor over received bytes that refuses to read past the end."""

    __slots__ = ("_data", "_end", "_pos")

    def __init__(self, data: bytes | memoryview, start: int = 0, end: int | None = None) -> None:
        self._data = bytes(data) if isinstance(data, memoryview) else data
        self._pos = start
        self._end = len(self._data) if end is None else end

    @property
    def remaining(self) -> int:
        """Bytes not yet read."""
        return self._end - self._pos

    def _need(self, size: int, what: str) -> int:
        if size > self._end - self._pos:
            raise WireDecodeError(f"truncated {what}: needs {size} bytes, {self.remaining} left")
        pos = self._pos
        self._pos = pos + size
        return pos

    def peek(self) -> int:
        """The next byte, not consumed (the caller checks ``remaining`` first)."""
        return self._data[self._pos]

    def u8(self, what: str = "byte") -> int:
        """One unsigned byte."""
        return self._data[self._need(1, what)]

    def u16(self, what: str = "16-bit integer") -> int:
        """A big-endian unsigned 16-bit integer."""
        return int(_U16.unpack_from(self._data, self._need(2, what))[0])

    def u32(self, what: str = "32-bit integer") -> int:
        """A big-endian unsigned 32-bit integer."""
        return int(_U32.unpack_from(self._data, self._need(4, what))[0])

    def raw(self, size: int, what: str = "bytes") -> bytes:
        """``size`` bytes exactly."""
        pos = self._need(size, what)
        return self._data[pos : pos + size]

    def blob(self, what: str = "byte string", limit: int | None = None) -> bytes:
        """A 4-byte length followed by that many bytes."""
        size = self.u32(f"{what} length")
        if limit is not None and size > limit:
            raise WireDecodeError(f"{what} of {size} bytes is over the limit of {limit}")
        return self.raw(size, what)

    def text(self, what: str = "string", limit: int | None = None) -> str:
        """A UTF8-String: 4-byte length and UTF-8 bytes."""
        data = self.blob(what, limit)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WireDecodeError(f"{what} is not valid UTF-8") from exc

    def count(self, min_item: int, what: str = "list") -> int:
        """A 4-byte element count, refused when even the smallest elements could not fit."""
        number = self.u32(f"{what} count")
        if number * min_item > self.remaining:
            raise WireDecodeError(
                f"{what} claims {number} elements but only {self.remaining} bytes follow"
            )
        return number

    def end(self, what: str) -> None:
        """Refuse trailing bytes."""
        if self._pos != self._end:
            raise WireDecodeError(f"{self.remaining} unexpected bytes after the {what}")


class Writer:
    """Accumulates encoded primitives."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def u8(self, value: int) -> Writer:
        """One unsigned byte."""
        self._parts.append(bytes((value,)))
        return self

    def u16(self, value: int) -> Writer:
        """A big-endian unsigned 16-bit integer."""
        self._parts.append(_U16.pack(value))
        return self

    def u32(self, value: int) -> Writer:
        """A big-endian unsigned 32-bit integer."""
        self._parts.append(_U32.pack(value))
        return self

    def raw(self, data: bytes) -> Writer:
        """Bytes as they are."""
        self._parts.append(data)
        return self

    def blob(self, data: bytes) -> Writer:
        """A 4-byte length and the bytes."""
        self._parts.append(_U32.pack(len(data)))
        self._parts.append(data)
        return self

    def text(self, value: str) -> Writer:
        """A UTF8-String."""
        return self.blob(value.encode("utf-8"))

    def getvalue(self) -> bytes:
        """Everything written so far."""
        return b"".join(self._parts)
