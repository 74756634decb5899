"""The identifier node: prefixes, handles, templates, registration and resolution."""

from taihu.identifiers.handle_values import Handle, HandleValue
from taihu.identifiers.models import HandleRow, Prefix
from taihu.identifiers.service import HandleAdmin, IdentifierService

__all__ = ["Handle", "HandleAdmin", "HandleRow", "HandleValue", "IdentifierService", "Prefix"]
