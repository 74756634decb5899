"""Handle.Net REST API: response codes, HTTP statuses, credentials and JSON bodies (no routes).

Response codes are those of RFC 3652 / the Handle.Net server; the HTTP status follows the
Handle.Net mapping: 1 → 200 (201 on create), 100 → 404, 101 → 409, 102 → 400, 200 → 200 on
resolution, 202 → 400, 402 → 401, other 40x → 403.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote

import orjson

from taihu.core import N_, TaihuError
from taihu.identifiers.handle import HandleValue, HandleValueError
from taihu.identifiers.records.json_values import value_from_json

__all__ = [
    "MAX_MESSAGE_BYTES",
    "RC_SUCCESS",
    "RC_VALUES_NOT_FOUND",
    "BasicCredentials",
    "http_status",
    "parse_basic",
    "parse_values_body",
    "public_body",
    "response_code",
    "select_values",
    "spliced_body",
]

MAX_MESSAGE_BYTES = 256 * 1024
RC_SUCCESS = 1
RC_ERROR = 2
RC_HANDLE_NOT_FOUND = 100
RC_HANDLE_ALREADY_EXISTS = 101
RC_INVALID_HANDLE = 102
RC_VALUES_NOT_FOUND = 200
RC_VALUE_ALREADY_EXISTS = 201
RC_INVALID_VALUE = 202
RC_SERVER_NOT_RESP = 301
RC_INSUFFICIENT_PERMISSIONS = 401
RC_AUTHENTICATION_NEEDED = 402
RC_AUTHENTICATION_FAILED = 403
RC_INVALID_CREDENTIAL = 404

_BY_ERROR_CODE = {
    "invalid_handle": RC_INVALID_HANDLE,
    "invalid_prefix": RC_INVALID_HANDLE,
    "handle_not_found": RC_HANDLE_NOT_FOUND,
    "handle_exists": RC_HANDLE_ALREADY_EXISTS,
    "values_not_found": RC_VALUES_NOT_FOUND,
    "value_exists": RC_VALUE_ALREADY_EXISTS,
    "invalid_value": RC_INVALID_VALUE,
    "template_violation": RC_INVALID_VALUE,
    "prefix_not_served": RC_SERVER_NOT_RESP,
    "insufficient_permissions": RC_INSUFFICIENT_PERMISSIONS,
    "prefix_not_active": RC_INSUFFICIENT_PERMISSIONS,
    "enterprise_forbidden": RC_INSUFFICIENT_PERMISSIONS,
    "role_required": RC_INSUFFICIENT_PERMISSIONS,
    "authentication_needed": RC_AUTHENTICATION_NEEDED,
    "plain_http": RC_AUTHENTICATION_NEEDED,
    "authentication_failed": RC_AUTHENTICATION_FAILED,
    "authentication_locked": RC_AUTHENTICATION_FAILED,
    "invalid_credential": RC_INVALID_CREDENTIAL,
}

_BY_STATUS = {
    400: RC_INVALID_VALUE,
    401: RC_AUTHENTICATION_FAILED,
    403: RC_INSUFFICIENT_PERMISSIONS,
    404: RC_HANDLE_NOT_FOUND,
    409: RC_HANDLE_ALREADY_EXISTS,
}
_HTTP_BY_CODE = {
    RC_VALUES_NOT_FOUND: 200,
    RC_HANDLE_NOT_FOUND: 404,
    RC_SERVER_NOT_RESP: 404,
    RC_HANDLE_ALREADY_EXISTS: 409,
    RC_VALUE_ALREADY_EXISTS: 409,
    RC_INVALID_HANDLE: 400,
    RC_INVALID_VALUE: 400,
    RC_AUTHENTICATION_NEEDED: 401,
}


def response_code(exc: TaihuError) -> int:
    """The Handle response code of a domain error."""
    if exc.code in _BY_ERROR_CODE:
        return _BY_ERROR_CODE[exc.code]
    return _BY_STATUS.get(exc.status, RC_ERROR)


def http_status(code: int, *, created: bool = False) -> int:
    """The HTTP status of a Handle response code."""
    if code == RC_SUCCESS:
        return 201 if created else 200
    if code in _HTTP_BY_CODE:
        return _HTTP_BY_CODE[code]
    return 403 if 400 <= code < 500 else 500


class BasicCredentials(tuple[str, str]):
    """HTTP Basic user name (``INDEX:HANDLE``, percent-decoded) and password."""

    __slots__ = ()

    @property
    def username(self) -> str:
        """``300:88.118/ADMIN``."""
        return self[0]

    @property
    def password(self) -> str:
        """The secret key."""
        return self[1]


def parse_basic(header: str) -> BasicCredentials | None:
    """Decode ``Basic …``; the user name may be percent-encoded (pyhandle) or raw."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return BasicCredentials(("", ""))
    first, _, rest = decoded.partition(":")
    if first.isdigit():  # raw "300:88.118/ADMIN:secret": the handle holds no ':' before '/'
        handle, _, password = rest.partition(":")
        return BasicCredentials((f"{first}:{handle}", password))
    return BasicCredentials((unquote(first), rest))


def parse_values_body(body: bytes) -> list[HandleValue]:
    """The values of a PUT/POST body: ``{"values": [...]}`` or a bare list."""
    if len(body) > MAX_MESSAGE_BYTES:
        raise HandleValueError(N_("the message is over {kib} KiB"), kib=MAX_MESSAGE_BYTES // 1024)
    try:
        parsed: Any = orjson.loads(body) if body.strip() else {"values": []}
    except orjson.JSONDecodeError as exc:
        raise HandleValueError(N_("the body is not JSON: {reason}"), reason=str(exc)) from exc
    raws = parsed.get("values") if isinstance(parsed, dict) else parsed
    if not isinstance(raws, list):
        raise HandleValueError(N_('the body must be {"values": [...]}'))
    return [value_from_json(raw) for raw in raws]


def select_values(
    values: list[dict[str, Any]],
    *,
    types: list[str],
    indexes: list[int],
    include_private: bool,
) -> list[dict[str, Any]]:
    """The values a request asks for, without private ones unless allowed; permissions hidden."""
    out = []
    for value in values:
        permissions = value.get("permissions", "1110")
        if not include_private and permissions[2] != "1":
            continue
        if types or indexes:
            type_ = value["type"]
            by_type = any(type_ == t or type_.startswith(t + ".") for t in types)
            if not (by_type or value["index"] in indexes):
                continue
        shown = dict(value)
        if permissions == "1110":
            shown.pop("permissions", None)
        out.append(shown)
    return out


def public_body(handle: str, stored: list[dict[str, Any]]) -> bytes:
    """The body of the anonymous REST answer for a record in its stored form (parsed)."""
    shown = select_values(stored, types=[], indexes=[], include_private=False)
    body = orjson.dumps({"responseCode": RC_SUCCESS, "handle": handle, "values": shown})
    # Copied to its own size: orjson's bytes keep a buffer of at least 4 KiB whatever their
    # length, and the resolver's cache keeps many of them (bench/soak.py saw the heap grow by
    # ~4 KiB per identifier resolved, for answers of ~200 bytes).
    return bytes(memoryview(body))


_VALUE_START = '{"index":'
_PUBLIC_END = ',"permissions":"1110"}'


def spliced_body(handle: str, record: str, public: int) -> bytes | None:
    """``public_body`` of a stored record cut from its text, without parsing it; ``None``: parse.

    ``public``: how many values the record's stored wire answer holds (the ones anyone may
    read, HS_SECKEY left out). A record written by ``stored_columns`` is orjson's compact text
    with each value's ``permissions`` last; when every value is public with the usual
    permissions ("1110"), the answer is that text with those permissions cut out. The marks
    are counted unescaped, so text inside a string value (its quotes escaped) never matches.
    """
    values = record.count(_VALUE_START)
    if values != public or record.count(_PUBLIC_END) != values:
        return None  # a private value, other permissions, an HS_SECKEY: render it
    return b"".join(
        (
            b'{"responseCode":1,"handle":',
            orjson.dumps(handle),
            b',"values":',
            record.replace(_PUBLIC_END, "}").encode("utf-8"),
            b"}",
        )
    )
