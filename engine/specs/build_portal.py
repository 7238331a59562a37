"""Build the pack's `portal:` (issue #23), noting each problem at its data path.

It checks the sense of it: a record type and fields that exist and a customer can type, a
contact field to answer on, a description to suggest articles by, a channel of the pack; so a
misspelt field is a load error with its line rather than a form that can never make a record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.specs.pack import Option, RecordTypeSpec
from engine.specs.portal import DEFAULT_ACCENT, DEFAULT_COLOUR, PUBLIC_TYPES, PortalSpec
from engine.specs.problems import Path, ProblemLog


def build_portal(
    log: ProblemLog,
    data: Mapping[str, Any] | None,
    channels: Mapping[str, Option],
    record_types: Mapping[str, RecordTypeSpec],
) -> PortalSpec | None:
    """The portal as frozen values, or None for a pack without one (its pages are a 404)."""
    if not data:
        return None
    path: Path = ("portal",)
    channel = data.get("channel", "web")
    log.reference((*path, "channel"), "channel", channel, channels)
    type_id = data["record_type"]
    rtype = record_types.get(type_id)
    fields = tuple(data.get("fields") or ())
    if not log.reference((*path, "record_type"), "record type", type_id, record_types):
        rtype = None
    contact = text = ""
    if rtype is not None:
        contact, text = _check_fields(log, path, rtype, fields, data.get("text_field"))
    labels = dict(data.get("labels_en") or {})
    for name in labels:
        log.reference((*path, "labels_en", name), "public field", name, fields)
    return PortalSpec(
        title=data["title"],
        title_en=data.get("title_en") or data["title"],
        colour=data.get("colour", DEFAULT_COLOUR),
        accent=data.get("accent", DEFAULT_ACCENT),
        record_type=type_id,
        fields=fields,
        text_field=text,
        contact_field=contact,
        channel=channel,
        intro=data.get("intro", ""),
        labels_en=labels,
    )


def _check_fields(
    log: ProblemLog,
    path: Path,
    rtype: RecordTypeSpec,
    fields: tuple[str, ...],
    text_field: str | None,
) -> tuple[str, str]:
    """Each public field exists and can be typed; one is a contact, one the description."""
    known = _typed(log, path, rtype, fields)
    contacts = [f for f in known if rtype.fields[f].type == "contact"]
    if not contacts:
        log.problem(
            (*path, "fields"),
            "the web form asks for no contact field",
            "add the record type's contact field: the acknowledgement goes there",
        )
    for name, spec in rtype.fields.items():
        if spec.required and spec.type != "customer" and name not in known:
            log.problem(
                (*path, "fields"),
                f"required field '{name}' is not public",
                f"add {name} to portal.fields, or the form could never make a record",
            )
    return (contacts[0] if contacts else ""), _text_field(log, path, rtype, known, text_field)


def _typed(
    log: ProblemLog, path: Path, rtype: RecordTypeSpec, fields: tuple[str, ...]
) -> list[str]:
    """The public fields that exist and a customer can type; a problem for each other one."""
    known = []
    for i, name in enumerate(fields):
        if not log.reference((*path, "fields", i), "field", name, rtype.fields):
            continue
        if rtype.fields[name].type not in PUBLIC_TYPES:
            log.problem(
                (*path, "fields", i),
                f"field '{name}' of type {rtype.fields[name].type} cannot be public",
                f"public fields are of type {', '.join(PUBLIC_TYPES)}",
            )
            continue
        known.append(name)
    return known


def _text_field(
    log: ProblemLog, path: Path, rtype: RecordTypeSpec, known: list[str], named: str | None
) -> str:
    """The field articles are suggested by: the one named, else the first multi-line text."""
    if named is not None:
        log.reference((*path, "text_field"), "public field", named, known)
        return named
    texts = [f for f in known if rtype.fields[f].type == "text" and rtype.fields[f].multiline]
    if not texts:
        log.problem(
            (*path, "fields"),
            "the web form has no multi-line text field to suggest articles by",
            "add the description field, or name one as text_field",
        )
    return texts[0] if texts else ""
