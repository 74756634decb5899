"""Registration: prefixes and handles written with Handle semantics, authorized and audited.

``service`` (IdentifierService: writes) over ``reads`` (HandleReader: reads and who may write),
``callers`` (Handle admin identities, handle and prefix parsing), ``admins`` (admin groups),
``logins`` (throttled secret-key logins), ``seckeys`` (HS_SECKEY sealed at rest), ``batch``,
``batch_checks`` and ``bulk_rows`` (batch registration), ``importer`` (CSV/xlsx files).
"""

from taihu.identifiers.registration.batch import MAX_BATCH, BatchItem, BatchService
from taihu.identifiers.registration.callers import status_word
from taihu.identifiers.registration.importer import (
    ImportReport,
    import_rows,
    read_table,
    read_table_bytes,
)
from taihu.identifiers.registration.logins import answer_login, basic_login, pubkey_login
from taihu.identifiers.registration.seckeys import SecretKeyBox, seckeys_for
from taihu.identifiers.registration.service import (
    Caller,
    HandleAdmin,
    IdentifierService,
    identifier_service,
    parse_handle,
    parse_prefix,
)

__all__ = [
    "MAX_BATCH",
    "BatchItem",
    "BatchService",
    "Caller",
    "HandleAdmin",
    "IdentifierService",
    "ImportReport",
    "SecretKeyBox",
    "answer_login",
    "basic_login",
    "identifier_service",
    "import_rows",
    "parse_handle",
    "parse_prefix",
    "pubkey_login",
    "read_table",
    "read_table_bytes",
    "seckeys_for",
    "status_word",
]
