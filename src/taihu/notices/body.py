"""A notice's body: Markdown written by the bureau, rendered to HTML that can carry no script.

The source is stored as written; HTML is made when shown. Raw HTML in the source is escaped,
never passed through (``html: False``), and markdown-it refuses ``javascript:``, ``vbscript:``,
``file:`` and non-image ``data:`` link targets, so no tag or attribute a browser would run can
come out of a body. The console's CSP forbids inline scripts besides.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

__all__ = ["MAX_BODY", "render_body"]

MAX_BODY = 50_000

_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render_body(source: str) -> str:
    """The body as safe HTML."""
    return str(_RENDERER.render(source))
