"""The new part of a reply: quoted history trimmed, so that an agent reads what is new.

Mail clients quote the whole earlier conversation under (or above) the answer. What starts
the history: a line "-----原始邮件-----" or "-----Original Message-----", an attribution
("On … wrote:", "在 2026年12月1日 … 写道：", "王芳 <…> 于…写道："), or an Outlook header
block ("From:/发件人:" followed by "Sent:/发送时间:", "To:", "Subject:" lines). Lines
starting with ">" are quotes wherever they stand. The full text stays available beside it.
"""

from __future__ import annotations

import re

# A line that by itself says "the earlier mail follows".
HISTORY_LINE = re.compile(
    r"""^\s*(?:
        -{2,}\s*(?:原始邮件|原始郵件|原邮件|Original\s+Message)\s*-{2,}
      | _{10,}
      | .{0,300}(?:写道|寫道)\s*[:：]
      | On\s.{0,300}\swrote:
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)
# Gmail folds a long English attribution: "On Mon, … Wang Fang" / "<wang@example.com> wrote:".
ON_START = re.compile(r"^\s*On\s.+", re.IGNORECASE)
WROTE_END = re.compile(r".*\swrote:\s*$", re.IGNORECASE)
# The first and the following lines of an Outlook / Foxmail header block.
FROM_LINE = re.compile(r"^\s*\*?(?:From|发件人|寄件者|發件人)\*?\s*[:：]", re.IGNORECASE)
BLOCK_LINE = re.compile(
    r"^\s*\*?(?:Sent|Date|To|Cc|Subject|发送时间|日期|时间|收件人|抄送|主题|"
    r"寄件日期|傳送時間|收件者|副本|主旨)\*?\s*[:：]",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"^\s*(?:-{2,}|_{2,}|={2,})?\s*$")


def _starts_history(lines: list[str], index: int) -> bool:
    """Whether the earlier mail starts at line `index`."""
    line = lines[index]
    if HISTORY_LINE.match(line):
        return True
    following = lines[index + 1 : index + 3]
    if ON_START.match(line) and any(WROTE_END.match(nxt) for nxt in following):
        return True
    if FROM_LINE.match(line):
        block = lines[index + 1 : index + 6]
        return sum(1 for nxt in block if BLOCK_LINE.match(nxt)) >= 1
    return False


def _without_quotes(lines: list[str]) -> list[str]:
    kept = [line for line in lines if not line.lstrip().startswith(">")]
    while kept and _SEPARATOR.match(kept[-1]):
        kept.pop()
    while kept and not kept[0].strip():
        kept.pop(0)
    return kept


def reply_part(text: str) -> str:
    """The new part of `text`: everything above the quoted history, without ">" lines.

    A bottom-posted answer (history first, answer under it) would leave nothing above the
    history; then the answer is what remains once quotes and attribution lines are removed.
    """
    lines = text.split("\n")
    cut = next((i for i in range(len(lines)) if _starts_history(lines, i)), len(lines))
    above = _without_quotes(lines[:cut])
    if above or cut == len(lines):
        return "\n".join(above)
    below = [
        line
        for i, line in enumerate(lines)
        if not _starts_history(lines, i) and not WROTE_END.match(line)
    ]
    return "\n".join(_without_quotes(below))
