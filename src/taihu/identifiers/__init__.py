"""The identifier node: prefixes, handles, templates, registration and resolution."""

from taihu.identifiers.application_api import attachment as document_response
from taihu.identifiers.application_api import router as application_router
from taihu.identifiers.applications import ApplicationService
from taihu.identifiers.batch import BatchService
from taihu.identifiers.catalog import TemplateService
from taihu.identifiers.handle_json import value_to_json
from taihu.identifiers.handle_server import HandleServer, bind_handle, handle_server_for
from taihu.identifiers.handle_values import AdminPermission, Handle, HandleValue
from taihu.identifiers.hierarchy import Filer, HierarchyService
from taihu.identifiers.importer import ImportReport, import_rows, read_table_bytes
from taihu.identifiers.models import HandleRow, Prefix, PrefixApplication, StatsDaily, Template
from taihu.identifiers.prefix_documents import (
    MAX_DOCUMENT,
    ApplicationDocument,
    DocumentUpload,
    PrefixApplicationForm,
    apply_with_documents,
    documents_of,
    read_document,
)
from taihu.identifiers.resolver import Resolver
from taihu.identifiers.seckeys import SecretKeyBox, seckeys_for
from taihu.identifiers.service import (
    HandleAdmin,
    IdentifierService,
    identifier_service,
    parse_handle,
)
from taihu.identifiers.statistics import DayCount, StatisticsService
from taihu.identifiers.template_form import form_fields, register_one

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
    "Resolver",
    "SecretKeyBox",
    "StatisticsService",
    "StatsDaily",
    "Template",
    "TemplateService",
    "application_router",
    "apply_with_documents",
    "bind_handle",
    "document_response",
    "documents_of",
    "form_fields",
    "handle_server_for",
    "identifier_service",
    "import_rows",
    "parse_handle",
    "read_document",
    "read_table_bytes",
    "register_one",
    "seckeys_for",
    "value_to_json",
]
