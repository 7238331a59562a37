"""The public web form (issue #23, item 2): a customer's words become a record on `web`.

Only the fields the pack marks public are taken; the customer is found by the contact they
typed (a keyed hash, as every contact lookup) or numbered from it, like a first mail. The
description is also the customer's first message on the record's thread, carrying their
photos, so the agent sees words and pictures where every later message appears. The pack's
`created` contact sends the usual acknowledgement, with the tracking link, from the sweep.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.conversation import thread
from engine.conversation.addressing import EMAIL, PHONE
from engine.conversation.firstcontact import customer_number
from engine.conversation.mail import Attachment
from engine.errors import InvalidInput, NotFound
from engine.records import intake
from engine.selfservice.outcomes import record_outcome
from engine.specs.pack import PackSpec
from engine.specs.portal import PortalSpec
from engine.store.models import PackVersion, Record

MAX_FILES = 3
TEXT_MAX = 4000  # a description longer than this is no customer's question


def portal_of(pack: PackSpec) -> PortalSpec:
    """The pack's portal; NotFound when the pack has none (its pages do not exist)."""
    if pack.portal is None:
        raise NotFound(f"pack {pack.name} has no portal")
    return pack.portal


def public_values(portal: PortalSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """Only the public fields, trimmed; empty ones left out (the record's checks decide)."""
    kept: dict[str, Any] = {}
    for name in portal.fields:
        value = values.get(name)
        if isinstance(value, str):
            value = value.strip()
        if value not in (None, ""):
            kept[name] = value
    return kept


def _check(portal: PortalSpec, fields: Mapping[str, Any], files: Sequence[Attachment]) -> str:
    """The contact, checked: an address or a phone number the desk can answer on."""
    contact = str(fields.get(portal.contact_field) or "")
    if not (EMAIL.match(contact) or PHONE.match(contact)):
        raise InvalidInput(
            "a contact must be an email address or a phone number",
            fields={portal.contact_field: "email or phone"},
        )
    if len(str(fields.get(portal.text_field) or "")) > TEXT_MAX:
        raise InvalidInput(
            f"the description is longer than {TEXT_MAX} characters",
            fields={portal.text_field: "too long"},
        )
    if len(files) > MAX_FILES:
        raise InvalidInput(
            f"at most {MAX_FILES} files on one form", fields={"attachments": "too many files"}
        )
    return contact


def submit(
    session: Session,
    pack: PackSpec,
    version: PackVersion,
    values: Mapping[str, Any],
    files: Sequence[Attachment],
    *,
    now: datetime,
) -> Record:
    """Create the record the form describes, its first message, and the hand-over outcome."""
    portal = portal_of(pack)
    fields = public_values(portal, values)
    contact = _check(portal, fields, files)
    rtype = pack.record_type(portal.record_type)
    for spec in rtype.fields.values():
        if spec.type == "customer":
            fields[spec.id] = customer_number(session, contact)
    new = intake.NewRecord(record_type=portal.record_type, fields=fields, channel=portal.channel)
    record = intake.create_record(session, pack, version, new, actor="customer", now=now)
    text = str(fields.get(portal.text_field) or "—")
    thread.receive(
        session, pack, record, text, channel=portal.channel, author="customer", now=now, files=files
    )
    record_outcome(
        session,
        kind="handed_over",
        source="form",
        at=now,
        pack=pack.name,
        query=text,
        record_id=record.id,
    )
    return record
