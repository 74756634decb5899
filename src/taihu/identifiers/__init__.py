"""The identifier node: prefixes, handles, templates, registration and resolution.

Rooms, lowest first (each may use the ones below it, never above; import-linter checks it):

    handle/        the Handle data model: handles, values, admin refs, data templates
    wire/          the Handle protocol: RFC 3651/3652 codec and async client
    records/       a record's encodings: REST JSON, stored text, pre-encoded wire answers
    models.py      the tables (id_prefixes, id_handles, id_changes, ...)
    resolution/    the cached resolver, the prefixes served here, referrals across nodes
    registration/  writes with Handle semantics: service, batch, import, admin keys and logins
    server/        the Handle server: UDP/TCP listeners, dispatch, admin operations
    hierarchy/     top-level / secondary / enterprise nodes, filing upward; ``taihu node``
    prefixes/      prefix applications (real-name review), statistics
    catalog/       the template catalog
    snms/          the SNMS business-system API
    api.py, cli.py the Handle REST routes (SNMS included) and ``taihu id …`` commands
"""

from taihu.identifiers.application_api import attachment as document_response
from taihu.identifiers.application_api import router as application_router
from taihu.identifiers.catalog import TemplateService
from taihu.identifiers.handle import AdminPermission, Handle, HandleValue, set_case_sensitive
from taihu.identifiers.hierarchy import Filer, HierarchyService
from taihu.identifiers.models import HandleRow, Prefix, PrefixApplication, StatsDaily, Template
from taihu.identifiers.prefixes import ApplicationService, DayCount, StatisticsService
from taihu.identifiers.prefixes.documents import (
    MAX_DOCUMENT,
    ApplicationDocument,
    DocumentUpload,
    PrefixApplicationForm,
    apply_with_documents,
    document_type,
    documents_of,
    read_document,
)
from taihu.identifiers.records import value_to_json
from taihu.identifiers.registration import (
    BatchService,
    HandleAdmin,
    IdentifierService,
    ImportReport,
    SecretKeyBox,
    identifier_service,
    import_rows,
    parse_handle,
    read_table_bytes,
    seckeys_for,
)
from taihu.identifiers.registration.forms import form_fields, register_one
from taihu.identifiers.resolution import Resolver
from taihu.identifiers.server import (
    HandleServer,
    Relay,
    bind_handle,
    bind_relay,
    bind_shared_udp,
    handle_server_for,
    record_bound_port,
    relay_path,
    spread_datagrams,
)

__all__ = [
    "MAX_DOCUMENT",
    "AdminPermission",
    "ApplicationDocument",
    "ApplicationService",
    "BatchService",
    "DayCount",
    "DocumentUpload",
    "Filer",
    "Handle",
    "HandleAdmin",
    "HandleRow",
    "HandleServer",
    "HandleValue",
    "HierarchyService",
    "IdentifierService",
    "ImportReport",
    "Prefix",
    "PrefixApplication",
    "PrefixApplicationForm",
    "Relay",
    "Resolver",
    "SecretKeyBox",
    "StatisticsService",
    "StatsDaily",
    "Template",
    "TemplateService",
    "application_router",
    "apply_with_documents",
    "bind_handle",
    "bind_relay",
    "bind_shared_udp",
    "document_response",
    "document_type",
    "documents_of",
    "form_fields",
    "handle_server_for",
    "identifier_service",
    "import_rows",
    "parse_handle",
    "read_document",
    "read_table_bytes",
    "record_bound_port",
    "register_one",
    "relay_path",
    "seckeys_for",
    "set_case_sensitive",
    "spread_datagrams",
    "value_to_json",
]
