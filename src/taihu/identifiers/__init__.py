"""The identifier node: prefixes, handles, templates, registration and resolution."""

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

__all__ = [
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
    "apply_with_documents",
    "bind_handle",
    "documents_of",
    "handle_server_for",
    "identifier_service",
    "import_rows",
    "parse_handle",
    "read_document",
    "read_table_bytes",
    "seckeys_for",
    "value_to_json",
]
