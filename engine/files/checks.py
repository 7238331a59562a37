"""What may be stored, decided by the file's content (issue #21, item 3; R-8.3).

A browser's Content-Type and a file's extension are whatever the sender made them: an HTML
page renamed `photo.jpg` is still a page a browser would run. So the type is detected from
the bytes (their magic numbers, read by the `filetype` library) and that type must be on the
product's list (`mail.ALLOWED_TYPES`: pictures, PDF, office documents, text). Text has no
magic number: bytes that decode as UTF-8 or GB 18030, without NUL, are text, unless they open
like markup (HTML, SVG, XML), which is refused. The extension must be allowed too, so
`report.pdf.exe` is refused even with a PDF inside. The name a person gave is only shown:
`safe_filename` strips folders, `..`, NUL and reserved characters, and it never becomes a path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import filetype

from engine.conversation.mail import ALLOWED_TYPES
from engine.conversation.mailparts import mime_types, safe_filename
from engine.errors import InvalidInput

# The types shown in the page as themselves (served inline); every other one is a download.
# Never SVG or HTML: they can carry script.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_MARKUP = (b"<!doctype", b"<html", b"<script", b"<svg", b"<?xml", b"<head", b"<body", b"<iframe")
_SNIFFED = 1024  # as much of a text's start as browsers sniff for markup


class FileTooLarge(InvalidInput):
    """A file over the size limit; `limit` is the limit in bytes, for the message people read."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"too large: {size} bytes, the limit is {limit} bytes",
            fields={"file": "file too large"},
        )
        self.limit = limit


@dataclass(frozen=True)
class Checked:
    """A file that passed: its shown name, the type it claimed, the type it is, its bytes."""

    filename: str
    declared_type: str
    detected_type: str
    size: int
    data: bytes = field(repr=False)


def check(filename: str, declared_type: str, data: bytes, max_bytes: int) -> Checked:
    """`data` as a file that may be stored, or InvalidInput (FileTooLarge) saying why not."""
    if len(data) > max_bytes:
        raise FileTooLarge(len(data), max_bytes)
    if not data:
        raise InvalidInput("the file is empty", fields={"file": "empty file"})
    detected = detect(data)
    if detected is None or detected not in ALLOWED_TYPES:
        raise InvalidInput(
            f"the file's content ({detected or 'unknown'}) is not an allowed type",
            fields={"file": "file type not allowed"},
        )
    name = safe_filename(filename, detected, 1)
    by_name, _ = mime_types().guess_type(name, strict=False)
    if by_name and by_name.lower() not in ALLOWED_TYPES:
        raise InvalidInput(
            f"the file name's extension (.{name.rpartition('.')[2]}) is not allowed",
            fields={"file": "file type not allowed"},
        )
    if detected == "text/plain" and by_name == "text/csv":
        detected = "text/csv"
    declared = (declared_type or "").split(";", 1)[0].strip().lower()[:127]
    return Checked(name, declared, detected, len(data), data)


def detect(data: bytes) -> str | None:
    """The type the bytes are, by their magic number, else text or markup; None if unknown."""
    kind = filetype.guess(data)
    if kind is not None:
        return str(kind.mime)
    return _text_type(data)


def _text_type(data: bytes) -> str | None:
    head = data[:_SNIFFED].lower()
    if head.lstrip(b"\xef\xbb\xbf \t\r\n\f").startswith(b"<") or any(
        tag in head for tag in _MARKUP
    ):
        return "text/html"
    if b"\x00" in data:
        return None
    for encoding in ("utf-8", "gb18030"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return "text/plain"
    return None
