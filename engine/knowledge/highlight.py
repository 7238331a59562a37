"""Snippets with the matched words marked, as HTML that is safe to put on a page as it is.

The index holds segmented tokens, which read badly (快递 一直 没 到); the
snippet is cut from the original text instead, every piece HTML-escaped, and
only the `<mark>` tags added here are markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

WIDTH = 120
_MARKDOWN = re.compile(r"^ {0,3}(?:#{1,6}|>|[-+*]|\d+\.) +|[*_`|~]+|!?\[([^\]]*)\]\([^)]*\)", re.M)
_SPACES = re.compile(r"\s+")


def plain(markdown: str) -> str:
    """Markdown as plain running text: link texts kept, markup and line breaks dropped."""
    text = _MARKDOWN.sub(lambda m: m.group(1) or "", markdown)
    return _SPACES.sub(" ", text).strip()


def snippet(text: str, words: Iterable[str], width: int = WIDTH) -> str:
    """About `width` characters of `text` around its first match, matches in `<mark>`."""
    text = _SPACES.sub(" ", text).strip()
    wanted = sorted({w for w in words if w}, key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(w) for w in wanted), re.IGNORECASE) if wanted else None
    first = pattern.search(text) if pattern else None
    start = max(0, first.start() - width // 4) if first else 0
    piece = text[start : start + width]
    out = ["…" if start > 0 else ""]
    last = 0
    for match in pattern.finditer(piece) if pattern else ():
        out.append(html.escape(piece[last : match.start()]))
        out.append(f"<mark>{html.escape(match.group(0))}</mark>")
        last = match.end()
    out.append(html.escape(piece[last:]))
    if start + width < len(text):
        out.append("…")
    return "".join(out)
