"""The identifier node: prefixes, handles, templates, registration and resolution."""

from taihu.identifiers.applications import ApplicationService
from taihu.identifiers.batch import BatchService
from taihu.identifiers.catalog import TemplateService
from taihu.identifiers.handle_json import value_to_json
from taihu.identifiers.handle_server import HandleServer, bind_handle, handle_server_for
from taihu.identifiers.handle_values import Handle, HandleValue
from taihu.identifiers.hierarchy import Filer, HierarchyService
from taihu.identifiers.models import HandleRow, Prefix, PrefixApplication, StatsDaily, Template
from taihu.identifiers.resolver import Resolver
from taihu.identifiers.service import HandleAdmin, IdentifierService, parse_handle

__all__ = [
    "ApplicationService",
    "BatchService",
    "Filer",
    "Handle",
    "HandleAdmin",
    "HandleRow",
    "HandleServer",
    "HandleValue",
    "HierarchyService",
    "IdentifierService",
    "Prefix",
    "PrefixApplication",
    "Resolver",
    "StatsDaily",
    "Template",
    "TemplateService",
    "bind_handle",
    "handle_server_for",
    "parse_handle",
    "value_to_json",
]
