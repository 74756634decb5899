"""The identifier node: prefixes, handles, templates, registration and resolution."""

from taihu.identifiers.applications import ApplicationService
from taihu.identifiers.batch import BatchService
from taihu.identifiers.catalog import TemplateService
from taihu.identifiers.handle_json import value_to_json
from taihu.identifiers.handle_values import Handle, HandleValue
from taihu.identifiers.models import HandleRow, Prefix, PrefixApplication, StatsDaily, Template
from taihu.identifiers.service import HandleAdmin, IdentifierService, parse_handle

__all__ = [
    "ApplicationService",
    "BatchService",
    "Handle",
    "HandleAdmin",
    "HandleRow",
    "HandleValue",
    "IdentifierService",
    "Prefix",
    "PrefixApplication",
    "StatsDaily",
    "Template",
    "TemplateService",
    "parse_handle",
    "value_to_json",
]
