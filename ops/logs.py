"""Structured logs: one JSON object per line, with the request id, and no personal data.

Every record gets the current correlation id (`ops.context.request_id`) when it is
created, so lines written by the engine during a request, or by a sweep, can be
searched by it. Personal data is kept out at the source (log ids, packs and counts,
never a record's fields; SQLAlchemy hides statement parameters); `scrub` is the net
behind that: phone numbers, long digit runs (ID cards) and e-mail addresses in a
message or a traceback are masked before the line is written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from ops.context import request_id

# The attributes every LogRecord has: anything else was passed as `extra=` and is kept.
STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
PERSONAL = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail
    r"|(?<!\d)1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)"  # mainland mobile, spaced or not
    r"|\d{11,}"  # other long numbers: landlines with area code, ID cards, bank cards
)
_installed = False


def scrub(text: str) -> str:
    return PERSONAL.sub("***", text)


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg", "request_id", …extra fields, "exc"}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in vars(record).items():
            if key not in STANDARD and key != "request_id":
                entry[key] = value if isinstance(value, int | float | bool) else scrub(str(value))
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """For a developer's terminal (`CARELOOP_LOG_FORMAT=text`): scrubbed too."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def stamp_request_ids() -> None:
    """Give every log record created from now on the correlation id current at its creation."""
    global _installed
    if _installed:
        return
    make = logging.getLogRecordFactory()

    def stamped(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        record.request_id = request_id.get()
        return record

    logging.setLogRecordFactory(stamped)
    _installed = True


def configure(*, log_format: str = "json", level: str = "INFO") -> None:
    """The root logger to stderr, as CARELOOP_LOG_FORMAT (json, the default, or text) and
    CARELOOP_LOG_LEVEL (INFO) say: for gunicorn workers, schedulers and the CLI's servers."""
    stamp_request_ids()
    handler = logging.StreamHandler(sys.stderr)
    text = log_format.lower() == "text"
    handler.setFormatter(TextFormatter() if text else JsonFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "careloop", False)]:
        root.removeHandler(old)
    handler.careloop = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    # SQLAlchemy logs result rows at DEBUG (customers' names and numbers): never, at any level.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    # APScheduler says "running job … executed successfully" for every job every few seconds;
    # what the jobs did is logged by the jobs themselves.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
