"""Personal data shown masked unless a role may see it (R-1.2, R-8.3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.specs.pack import RecordTypeSpec


def mask_contact(value: str) -> str:
    """Keep what lets an agent recognise a number or address, hide the rest: 138****5678."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = [i for i, ch in enumerate(value) if ch.isdigit()]
    if len(digits) < 7:
        return "*" * len(value)
    keep = set(digits[:3] + digits[-4:])
    return "".join(ch if i in keep or not ch.isdigit() else "*" for i, ch in enumerate(value))


def mask_name(value: str) -> str:
    """The surname only, as the seeds write it ("*先生/女士" → 张**)."""
    value = value.strip()
    return value[:1] + "*" * max(len(value) - 1, 1) if value else value


def masked_fields(rtype: RecordTypeSpec, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of the record's fields with every personal field masked."""
    shown = dict(fields)
    for name, spec in rtype.fields.items():
        value = shown.get(name)
        if not isinstance(value, str) or not value:
            continue
        if spec.mask == "name":
            shown[name] = mask_name(value)
        elif spec.type == "contact" or spec.mask in ("phone", "email"):
            shown[name] = mask_contact(value)
    return shown
