"""The template catalog: industry data templates stored per prefix, versioned and audited."""

from taihu.identifiers.catalog.templates import TemplateService, parse_spec, template_json

__all__ = [
    "TemplateService",
    "parse_spec",
    "template_json",
]
