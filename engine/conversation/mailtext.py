"""Bytes and headers of an email as clean text, whatever charset the sender's client claimed.

Chinese mail labels its parts "gb2312" while writing GBK (镕, 喆, 堃 are not in GB2312), and
Python's gb2312 codec refuses those characters; GB18030 is a superset of both, so the whole
family is read as GB18030. Big5 is read as Big5-HKSCS for the same reason (Hong Kong
characters in "big5" mail). Nothing here raises on bad bytes: what cannot be read becomes
U+FFFD, and NUL, lone surrogates and other control characters never reach a result string,
because they break databases, templates and logs downstream.
"""

from __future__ import annotations

import codecs
import re
from email.headerregistry import BaseHeader
from email.message import Message
from email.policy import default as POLICY

# Charset labels read through a superset codec: what the label says is narrower than what
# real clients write under it.
SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "euc-cn": "gb18030",
    "csgb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "csbig5": "big5hkscs",
}
# Encoded words (=?gb2312?B?…?=) and RFC 2231 parameters (filename*=gbk''%C0…) naming a
# narrow Chinese charset, rewritten to the superset before the stdlib decodes them.
_NARROW_LABEL = re.compile(
    r"(=\?|\*=\s*\"?)(" + "|".join(re.escape(k) for k in SUPERSETS) + r")(?=[?*'])",
    re.IGNORECASE,
)
# Controls other than tab and newline, and lone surrogates (surrogateescape leftovers).
_UNWANTED = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]|[\ud800-\udfff]")
_FOLD = re.compile(r"\r?\n")


def codec_for(charset: str | None) -> str | None:
    """The Python codec to read `charset` with, or None when the label names no text codec.

    Labels such as "zlib" or "base64" name bytes-to-bytes codecs, never a mail charset.
    """
    if not charset:
        return None
    label = charset.strip().strip('"').lower()
    label = SUPERSETS.get(label, label)
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None


def clean(text: str) -> str:
    """`text` with newlines normalised and NUL, controls and lone surrogates taken out.

    A lone surrogate becomes U+FFFD (it stood for a byte nobody could read); the controls
    are dropped, as no reader could see them anyway.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNWANTED.sub(lambda m: "\ufffd" if m.group(0) >= "\ud800" else "", text)


def decode_bytes(data: bytes, charset: str | None) -> str:
    """`data` as text: by its declared charset, else UTF-8, else GB18030; never raising."""
    codec = codec_for(charset)
    tries = [codec] if codec else ["utf-8", "gb18030"]
    for name in tries:
        try:
            return clean(data.decode(name))
        except (UnicodeError, LookupError):
            continue
    for name in (*tries, "utf-8"):
        try:
            return clean(data.decode(name, errors="replace"))
        except (UnicodeError, LookupError):  # codecs such as idna accept no error handler
            continue
    return ""  # not reached: UTF-8 with replacement reads any bytes


def _unescape_8bit(value: str) -> str:
    """A raw header with unencoded 8-bit bytes (carried as surrogates) read as UTF-8 or GB18030.

    Some mailers put GBK straight into headers without RFC 2047; the parser keeps those
    bytes as surrogate escapes, which this turns back into the characters meant.
    """
    if not re.search(r"[\udc80-\udcff]", value):
        return value
    data = value.encode("utf-8", errors="surrogateescape")
    return decode_bytes(data, None)


def header(part: Message, name: str) -> BaseHeader | None:
    """The first `name` header of `part`, parsed by the stdlib after the charset fixes above.

    The header is parsed again from its raw text (not `part[name]`) so that gb2312 labels
    are read as GB18030 before decoding, not repaired after characters were lost. Where the
    stdlib's structured parser fails on a mangled value (it can raise IndexError deep
    inside), the value is kept as unstructured text rather than losing the whole mail.
    """
    wanted = name.lower()
    for key, raw in part.raw_items():
        if key.lower() != wanted:
            continue
        value = _NARROW_LABEL.sub(lambda m: m.group(1) + SUPERSETS[m.group(2).lower()], raw)
        value = _FOLD.sub("", _unescape_8bit(value))
        try:
            parsed: BaseHeader = POLICY.header_factory(key, value)
            # Address lists parse lazily: touch them here, where a failure can be caught.
            _ = [str(a) for a in getattr(parsed, "addresses", ())]
        except (IndexError, ValueError, AttributeError, TypeError):
            parsed = POLICY.header_factory("X-Unparsed", value)
        return parsed
    return None


def header_text(part: Message, name: str) -> str:
    """The decoded text of header `name` on one line, or "" when it is absent."""
    found = header(part, name)
    return " ".join(clean(str(found)).split()) if found is not None else ""


def header_param(part: Message, name: str, param: str) -> str | None:
    """A parameter of a MIME header (`filename` of Content-Disposition), decoded, or None."""
    found = header(part, name)
    params = getattr(found, "params", None)
    if not params or param not in params:
        return None
    return clean(str(params[param]))
