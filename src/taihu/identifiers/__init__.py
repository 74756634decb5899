"""The identifier node: prefixes, handles, templates, registration and resolution."""

from taihu.identifiers.catalog.templates import TemplateService
from taihu.identifiers.handle.values import AdminPermission, Handle, HandleValue
from taihu.identifiers.hierarchy.service import Filer, HierarchyService
from taihu.identifiers.models import HandleRow, Prefix, PrefixApplication, StatsDaily, Template
from taihu.identifiers.prefixes.applications import ApplicationService
from taihu.identifiers.prefixes.statistics import DayCount, StatisticsService
from taihu.identifiers.records.json_values import value_to_json
from taihu.identifiers.registration.batch import BatchService
from taihu.identifiers.registration.importer import ImportReport, import_rows, read_table_bytes
from taihu.identifiers.registration.seckeys import SecretKeyBox, seckeys_for
from taihu.identifiers.registration.service import (
    HandleAdmin,
    IdentifierService,
    identifier_service,
    parse_handle,
)
from taihu.identifiers.resolution.resolver import Resolver
from taihu.identifiers.server.listeners import HandleServer, bind_handle, handle_server_for

__all__ = [
    "AdminPermission",
    "ApplicationService",
    "BatchService",
    "DayCount",
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
    "Resolver",
    "SecretKeyBox",
    "StatisticsService",
    "StatsDaily",
    "Template",
    "TemplateService",
    "bind_handle",
    "handle_server_for",
    "identifier_service",
    "import_rows",
    "parse_handle",
    "read_table_bytes",
    "seckeys_for",
    "value_to_json",
]
