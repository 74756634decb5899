"""The resolution fast path encodes stored values exactly as the general codec does."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from taihu.identifiers import HandleValue
from taihu.identifiers.handle import ADMIN_PERMISSIONS_ALL, AdminRef, TtlType, encode_admin
from taihu.identifiers.records import dump_record
from taihu.identifiers.records.wire_values import stored_to_wire
from taihu.identifiers.wire import encode_value, encode_vlist

AT = datetime(2026, 11, 25, 8, tzinfo=UTC)
VALUES = [
    HandleValue(index=1, type="URL", data=b"https://example.cn/1", timestamp=AT),
    HandleValue(index=2, type="EMAIL", data="运维@example.cn".encode(), ttl=60, public_write=True),
    HandleValue(index=3, type="BLOB", data=b"\xff\x00binary", ttl_type=TtlType.ABSOLUTE),
    HandleValue(index=4, type="NOTE", data=b"private", public_read=False, timestamp=AT),
    HandleValue(index=5, type="REF", data=b"x", references=((1, "88.1/Y"),)),
    HandleValue(index=6, type="HS_VLIST", data=encode_vlist(((300, "88.1/ADMIN"),))),
    HandleValue(
        index=100,
        type="HS_ADMIN",
        data=encode_admin(AdminRef("88.1/ADMIN", 300, ADMIN_PERMISSIONS_ALL)),
        timestamp=AT,
    ),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: v.type)
def test_stored_values_encode_like_the_codec(value: HandleValue) -> None:
    (raw,) = orjson.loads(dump_record([value]))
    index, type_, public, wire = stored_to_wire(raw)
    assert (index, type_, public) == (value.index, value.type, value.public_read)
    assert wire == encode_value(value)
