"""A Handle record in its encodings: REST JSON, the stored text, pre-encoded wire answers.

``json_values`` (a value as the Handle.Net REST API shows it, both ways), ``stored`` (the
record column's JSON text), ``wire_values`` (stored values straight to wire bytes, the fast
path's one conversion), ``rest`` (REST response codes, statuses, credentials, bodies).
"""

from taihu.identifiers.records.json_values import (
    VLIST_TYPE,
    decode_vlist,
    iso,
    value_from_json,
    value_to_json,
)
from taihu.identifiers.records.rest import (
    RC_SUCCESS,
    RC_VALUES_NOT_FOUND,
    http_status,
    parse_basic,
    parse_values_body,
    public_body,
    response_code,
    select_values,
    spliced_body,
)
from taihu.identifiers.records.stored import dump_record, load_record
from taihu.identifiers.records.wire_values import (
    CACHE_SECONDS,
    WireValue,
    public_wire,
    stored_columns,
)

__all__ = [
    "CACHE_SECONDS",
    "RC_SUCCESS",
    "RC_VALUES_NOT_FOUND",
    "VLIST_TYPE",
    "WireValue",
    "decode_vlist",
    "dump_record",
    "http_status",
    "iso",
    "load_record",
    "parse_basic",
    "parse_values_body",
    "public_body",
    "public_wire",
    "response_code",
    "select_values",
    "spliced_body",
    "stored_columns",
    "value_from_json",
    "value_to_json",
]
