"""The value model and its JSON forms, without HTTP or a database."""

from __future__ import annotations

import pytest

from taihu.identifiers.handle import (
    AdminPermission,
    AdminRef,
    Handle,
    HandleValue,
    HandleValueError,
    decode_admin,
    encode_admin,
    plain_key,
    set_case_sensitive,
)
from taihu.identifiers.records.json_values import (
    decode_vlist,
    encode_vlist,
    value_from_json,
    value_to_json,
)


def test_handle_keys_fold_the_whole_handle_and_keep_the_text() -> None:
    handle = Handle("88.118.8a/Lift-01")
    assert handle.key == "88.118.8A/LIFT-01"
    assert handle.suffix == "Lift-01"
    assert str(handle) == "88.118.8a/Lift-01"


def test_case_sensitive_keys_fold_the_prefix_only() -> None:
    set_case_sensitive(True)
    try:
        assert Handle("88.118.8a/Lift-01").key == "88.118.8A/Lift-01"
        assert plain_key(b"88.118.8a/Lift-01") == "88.118.8A/Lift-01"
    finally:
        set_case_sensitive(False)


@pytest.mark.parametrize(
    "text",
    ["nosuffix", "/x", "88/", "88 1/x", "88 /x", "88\t1/x", "88/a\x00b", "88/a\x7fb",
     "88/" + "x" * 2046],
)  # fmt: skip
def test_malformed_handles_are_refused(text: str) -> None:
    with pytest.raises(HandleValueError):
        Handle(text)


def test_handle_length_counts_utf8_bytes() -> None:
    Handle("88/" + "x" * 2045)
    with pytest.raises(HandleValueError, match="2048 bytes"):
        Handle("88/" + "电" * 700)  # 2,100 bytes in 703 characters


def test_admin_data_is_the_rfc_3651_layout() -> None:
    ref = AdminRef("0.NA/88.118", 200, AdminPermission.from_bits("011111110011"))
    data = encode_admin(ref)
    # 2-byte permissions, 4-byte length, the handle, 4-byte index.
    assert data == b"\x07\xf3\x00\x00\x00\x0b0.NA/88.118\x00\x00\x00\xc8"
    assert decode_admin(data) == ref
    assert ref.permissions.to_bits() == "011111110011"
    assert AdminPermission.ADD_HANDLE in ref.permissions
    assert AdminPermission.ADD_NAMING_AUTH not in ref.permissions


def test_truncated_admin_data_is_refused() -> None:
    with pytest.raises(HandleValueError):
        decode_admin(b"\x0f\xff\x00\x00\x00\x10abc")


def test_pyhandle_admin_shape_with_string_index() -> None:
    value = value_from_json(
        {
            "index": 100,
            "type": "HS_ADMIN",
            "data": {
                "format": "admin",
                "value": {"index": "200", "handle": "0.NA/88.118", "permissions": "011111110011"},
            },
        }
    )
    assert value.admin == AdminRef("0.NA/88.118", 200, AdminPermission(0b011111110011))
    assert value_to_json(value)["data"]["value"]["index"] == 200


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("plain", b"plain"),
        ({"format": "string", "value": "电梯"}, "电梯".encode()),
        ({"format": "base64", "value": "AAEC"}, b"\x00\x01\x02"),
        ({"format": "hex", "value": "00ff"}, b"\x00\xff"),
    ],
)
def test_data_formats(data: object, expected: bytes) -> None:
    assert value_from_json({"index": 1, "type": "X", "data": data}).data == expected


def test_binary_data_comes_back_as_base64() -> None:
    value = HandleValue(index=1, type="X", data=b"\xff\x00")
    assert value_to_json(value)["data"] == {"format": "base64", "value": "/wA="}


def test_vlist_round_trip() -> None:
    refs = [(300, "88.118/ADMIN"), (301, "88.118.8/ADMIN")]
    assert decode_vlist(encode_vlist(refs)) == refs
    value = value_from_json(
        {
            "index": 200,
            "type": "HS_VLIST",
            "data": {"format": "vlist", "value": [{"index": i, "handle": h} for i, h in refs]},
        }
    )
    assert value_to_json(value)["data"]["value"][1] == {"index": 301, "handle": "88.118.8/ADMIN"}


def test_permissions_and_absolute_ttl_round_trip() -> None:
    raw = {
        "index": 5,
        "type": "SECRET",
        "data": "x",
        "permissions": "1100",
        "ttlType": 1,
        "ttl": 1_800_000_000,
        "references": [{"index": 1, "handle": "88.118.8/OTHER"}],
    }
    value = value_from_json(raw)
    assert not value.public_read
    assert value_to_json(value) == {**raw, "data": {"format": "string", "value": "x"}}


@pytest.mark.parametrize(
    "raw",
    [
        {"index": 0, "type": "URL", "data": "x"},
        {"index": "x", "type": "URL", "data": "x"},
        {"index": 1, "type": "URL", "data": "x", "permissions": "11"},
        {"index": 1, "type": "URL", "data": "x", "permissions": [1, 1, 1, 0]},
        {"index": 1, "type": "URL", "data": "x", "ttl": -1},
        {"index": 1, "type": "URL", "data": 5},
        {"index": 1, "type": "URL", "data": "x" * 65537},
    ],
)
def test_bad_values_are_refused(raw: dict[str, object]) -> None:
    with pytest.raises(HandleValueError, match="value"):
        value_from_json(raw)
