"""Functions the page templates call: an import's columns, a case's allowed actions."""

from __future__ import annotations

from jinja2 import Environment

from taihu.web.pages import imports, pickers

__all__ = ["install"]


def install(env: Environment) -> None:
    """Make the pages' template functions available to every template."""
    imports.install(env)
    pickers.install(env)
