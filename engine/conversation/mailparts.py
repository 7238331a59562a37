"""The parts of an email: the body an agent reads, and the files that came with it.

The body is the part the stdlib's `get_body` prefers (plain text over HTML); every other
leaf that is a file (a name, an attachment disposition, or not text at all) is an
attachment, inline pictures included, since customers paste their screenshots inline.
A forwarded mail (message/rfc822) is one attachment, not opened further. Limits are checked
here so that refused files never leave the parser with their bytes.
"""

from __future__ import annotations

import functools
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage, Message

from engine.conversation.htmltext import html_to_text
from engine.conversation.mailtext import clean, decode_bytes, header, header_param

# Deeper nesting than this is no real mail client's doing; it is not walked.
MAX_DEPTH = 20
MAX_FILENAME = 200
_UNSAFE_NAME = re.compile(r"[\\/:*?\"<>|\x00-\x1f\x7f]+")
GENERIC_TYPES = frozenset({"application/octet-stream", "application/x-download", ""})
_OOXML = "application/vnd.openxmlformats-officedocument"


@functools.cache
def mime_types() -> mimetypes.MimeTypes:
    """Our own table, not the global one: the system's mime.types differ between machines, and
    Python's built-in map lacks the Office formats customers send most. Built on first use:
    it reads the system's tables, and every scheduler imports this module (issue #24 item 2).
    """
    types = mimetypes.MimeTypes()
    for type_, extension in (
        (f"{_OOXML}.wordprocessingml.document", ".docx"),
        (f"{_OOXML}.spreadsheetml.sheet", ".xlsx"),
        (f"{_OOXML}.presentationml.presentation", ".pptx"),
        ("image/heic", ".heic"),
        ("image/heif", ".heif"),
        ("image/webp", ".webp"),
    ):
        types.add_type(type_, extension)
    return types


@dataclass(frozen=True)
class Attachment:
    """A file that came with a mail, within the size and type limits."""

    filename: str
    content_type: str
    size: int
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Files:
    """The attachments kept and those refused, each refusal as (filename, reason)."""

    kept: tuple[Attachment, ...]
    refused: tuple[tuple[str, str], ...]


def body_text(message: EmailMessage) -> str:
    """The body as plain text: the plain part if there is one, else the HTML part made safe."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None or part.is_multipart():
        return ""
    text = decode_bytes(_payload(part), part.get_content_charset())
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text.strip("\n")


def _payload(part: Message) -> bytes:
    """The decoded bytes of a leaf part (base64 and quoted-printable undone by the stdlib)."""
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _leaves(part: Message, depth: int = 0) -> Iterator[Message]:
    if depth > MAX_DEPTH:
        return
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        for child in part.get_payload():
            if isinstance(child, Message):
                yield from _leaves(child, depth + 1)
    else:
        yield part


def _is_file(part: Message, body: Message | None) -> bool:
    if part is body:
        return False
    if part.get_content_maintype() == "multipart":
        return False
    named = _filename_of(part) is not None
    disposition = header(part, "content-disposition")
    attached = getattr(disposition, "content_disposition", None) == "attachment"
    return named or attached or part.get_content_maintype() != "text"


def _filename_of(part: Message) -> str | None:
    return header_param(part, "content-disposition", "filename") or header_param(
        part, "content-type", "name"
    )


def safe_filename(name: str | None, content_type: str, number: int) -> str:
    """A name to show and store: no path, no control or reserved characters, not too long."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip(" .")
    if not base:
        base = f"attachment-{number}{mime_types().guess_extension(content_type) or ''}"
    if len(base) > MAX_FILENAME:
        stem, dot, ext = base.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        base = base[: MAX_FILENAME - len(keep) - 1] + ("." + keep if keep else "")
    return base


def _file_bytes(part: Message) -> bytes:
    if part.get_content_maintype() == "message":
        inner = part.get_payload()
        inner_parts = inner if isinstance(inner, list) else [inner]
        return b"".join(p.as_bytes() for p in inner_parts if isinstance(p, Message))
    return _payload(part)


def _content_type(part: Message, filename: str) -> str:
    """The declared type, or the one the file's extension says when the client did not know."""
    declared = clean(part.get_content_type().lower())
    if declared in GENERIC_TYPES:
        guessed, _ = mime_types().guess_type(filename, strict=False)
        return (guessed or declared or "application/octet-stream").lower()
    return declared


def refusal(
    filename: str, content_type: str, size: int, max_bytes: int, allowed: frozenset[str]
) -> str | None:
    """Why a file is refused, or None. The extension counts too: "x.pdf.exe" is no PDF."""
    if content_type not in allowed:
        return f"type {content_type} is not allowed"
    by_name, _ = mime_types().guess_type(filename, strict=False)
    if by_name and by_name.lower() not in allowed:
        return f"the file name's extension (.{filename.rpartition('.')[2]}) is not allowed"
    if size > max_bytes:
        return f"too large: {size} bytes, the limit is {max_bytes} bytes"
    return None


def files_of(message: EmailMessage, max_bytes: int, allowed: frozenset[str]) -> Files:
    """The attachments of `message`, kept or refused (too large, or of a type not allowed)."""
    body = message.get_body(preferencelist=("plain", "html"))
    kept: list[Attachment] = []
    refused: list[tuple[str, str]] = []
    for number, part in enumerate((p for p in _leaves(message) if _is_file(p, body)), 1):
        filename = safe_filename(_filename_of(part), part.get_content_type(), number)
        content_type = _content_type(part, filename)
        data = _file_bytes(part)
        reason = refusal(filename, content_type, len(data), max_bytes, allowed)
        if reason:
            refused.append((filename, reason))
        else:
            kept.append(Attachment(filename, content_type, len(data), data))
    return Files(tuple(kept), tuple(refused))
