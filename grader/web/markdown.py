"""Markdown written by staff (an assignment's description) as safe HTML for the pages."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

# "js-default": CommonMark with raw HTML off (it is shown escaped, as text) and links checked (no
# javascript:).
_RENDERER = MarkdownIt("js-default")


def to_html(text: str | None) -> Markup:
    """``text`` as HTML in which no tag, attribute or script the author wrote survives; empty for None."""
    return Markup(_RENDERER.render(text)) if text else Markup("")
