"""Build the pack's `instant_answers:` (issue #23), noting each problem at its data path.

The hand-over channel must have an `intake:` entry (that is what makes the record), the order
number must be a regular expression, the lookup URL an http(s) one: each a load error with its
line rather than a chat box that fails in front of a customer at night.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from engine.specs.instant import (
    DEFAULT_ORDER_NUMBER,
    DEFAULT_TIMEOUT,
    InstantAnswersSpec,
    OrderLookupSpec,
)
from engine.specs.pack import IntakeSpec
from engine.specs.problems import Path, ProblemLog, section


def build_instant(
    log: ProblemLog, data: Mapping[str, Any], intake: Mapping[str, IntakeSpec]
) -> InstantAnswersSpec | None:
    """The pack's instant answers, or None when it has none (its chat box is not offered)."""
    if "instant_answers" not in data:
        return None
    entry = section(data, "instant_answers")
    path: Path = ("instant_answers",)
    handover = str(entry.get("handover", "online_chat"))
    log.reference((*path, "handover"), "intake channel", handover, intake)
    pattern = re.compile(DEFAULT_ORDER_NUMBER)
    if "order_number" in entry:
        try:
            pattern = re.compile(str(entry["order_number"]))
        except re.error as exc:
            log.problem(
                (*path, "order_number"),
                f"order_number is not a regular expression: {exc}",
                r"write it as a Python regular expression, e.g. 'SO\d{8}'",
            )
    return InstantAnswersSpec(handover, pattern, _lookup(log, path, entry))


def _lookup(log: ProblemLog, path: Path, entry: Mapping[str, Any]) -> OrderLookupSpec | None:
    lookup = entry.get("order_lookup")
    if not isinstance(lookup, Mapping):
        return None
    url = str(lookup.get("url", ""))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        log.problem(
            (*path, "order_lookup", "url"),
            f"'{url}' is not an http(s) URL",
            "write the full URL, e.g. https://orders.example.com/status",
        )
    return OrderLookupSpec(url, float(lookup.get("timeout", DEFAULT_TIMEOUT)))
