"""The Handle data model: handles, values, admin references, TTLs and data templates.

``values`` (Handle, HandleValue, HS_ADMIN, HS_SECKEY: RFC 3651 section 3.1), ``templates``
(industry data templates a registration must satisfy). No storage, no network, no web.
"""

from taihu.identifiers.handle.templates import (
    BUILTIN_TEMPLATES,
    TEMPLATE_TYPE,
    ItemSpec,
    TemplateError,
    TemplateSpec,
    industry_levels,
)
from taihu.identifiers.handle.values import (
    ADMIN_PERMISSIONS_ALL,
    ADMIN_TYPE,
    DEFAULT_ADMIN_INDEX,
    DEFAULT_TTL,
    SECKEY_INDEX,
    SECKEY_TYPE,
    AdminPermission,
    AdminRef,
    Handle,
    HandleValue,
    HandleValueError,
    TtlType,
    case_sensitive,
    decode_admin,
    encode_admin,
    normalize_prefix,
    plain_key,
    set_case_sensitive,
    text_value,
)

__all__ = [
    "ADMIN_PERMISSIONS_ALL",
    "ADMIN_TYPE",
    "BUILTIN_TEMPLATES",
    "DEFAULT_ADMIN_INDEX",
    "DEFAULT_TTL",
    "SECKEY_INDEX",
    "SECKEY_TYPE",
    "TEMPLATE_TYPE",
    "AdminPermission",
    "AdminRef",
    "Handle",
    "HandleValue",
    "HandleValueError",
    "ItemSpec",
    "TemplateError",
    "TemplateSpec",
    "TtlType",
    "case_sensitive",
    "decode_admin",
    "encode_admin",
    "industry_levels",
    "normalize_prefix",
    "plain_key",
    "set_case_sensitive",
    "text_value",
]
