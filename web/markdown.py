"""Markdown of knowledge articles as HTML that cannot carry a script.

markdown-it-py with raw HTML turned off escapes every tag an author types, and
its link check refuses javascript:, vbscript:, file: and data: URLs; what is
left is markup markdown-it itself wrote.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

_RENDERER = MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def render(text: str | None) -> Markup:
    return Markup(_RENDERER.render(text or ""))
