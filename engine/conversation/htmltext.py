"""HTML mail as safe plain text, for agents to read and for reply trimming.

An HTML-only mail must not bring markup, scripts or styles into the desk: the text is what a
reader would see, with entities decoded (`convert_charrefs`) and block elements as line
breaks. Quoted history in `<blockquote>` comes out with "> " prefixes, so that the reply
trimmer treats it like quoted plain text. The stdlib parser suffices; it never raises on
bad markup.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements whose content is never text for a reader.
HIDDEN = frozenset({"script", "style", "head", "title", "template", "noscript", "object"})
# Elements that start and end a line of their own.
BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
        "fieldset", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
        "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table",
        "tbody", "thead", "tfoot", "td", "th", "tr", "ul",
    }
)  # fmt: skip
_SPACES = re.compile(r"[ \t\r\n\f\u00a0]+")


class _TextCollector(HTMLParser):
    """Collects lines of visible text, each with the blockquote depth it was written at."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self._line: list[str] = []
        self._hidden = 0
        self._quote = 0
        self._pre = 0

    def _break(self, always: bool = False) -> None:
        """End the current line; a block boundary on an empty line adds no blank line."""
        line = "".join(self._line).strip()
        if line or always:
            self.lines.append((self._quote, line))
        self._line = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN:
            self._hidden += 1
        elif tag in BLOCKS:
            self._break(always=tag == "br")
            self._quote += tag == "blockquote"
            self._pre += tag == "pre"
            if tag == "li":
                self._line.append("- ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCKS:
            self._break(always=tag == "br")

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in BLOCKS:
            self._break()
            if tag == "blockquote":
                self._quote = max(0, self._quote - 1)
            if tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._pre:
            first, *rest = data.split("\n")
            self._line.append(first)
            for line in rest:
                self._break(always=True)
                self._line.append(line)
        else:
            self._line.append(_SPACES.sub(" ", data))

    def text(self) -> str:
        self.close()
        self._break()
        out: list[str] = []
        for depth, line in self.lines:
            if not line and (not out or not out[-1]):
                continue
            out.append(("> " * depth + line).rstrip())
        return "\n".join(out).strip("\n")


def html_to_text(markup: str) -> str:
    """The visible text of `markup`: no tags, no script or style, blocks on lines of their own."""
    collector = _TextCollector()
    collector.feed(markup)
    return collector.text()
