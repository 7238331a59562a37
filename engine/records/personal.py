"""A record's personal fields kept apart, encrypted, and found by hash (R-8.3, issue #22 item 4).

What a record type marks personal (`mask`, or type `contact`: names, phones, addresses, ID and
account numbers) is not written to the `fields` JSON that SQL reads, the queue filters and a
backup copies: it goes, encrypted, to `private_fields`, as the customer table keeps a
customer's name and contact. The record's contact is also kept as a keyed hash under
CARELOOP_LOOKUP_KEY, normalised as customers' are, so the desk finds a record by phone or
address with an index lookup instead of decrypting every row.

Code that needs every value reads `all_fields(record)`; code that writes goes through
`put_fields`, so no caller splits the two halves by hand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from engine.access.crypto import lookup_hash, normalise
from engine.access.masking import masked_fields
from engine.records.rows import RecordView
from engine.specs.pack import RecordTypeSpec
from engine.store.models import Record

_PHONE = re.compile(r"\+?\d{7,15}")  # as `normalise` leaves it: no spaces, dashes, brackets
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
LOOKUP_MASKS = ("phone", "email")  # text fields masked as a contact are looked up as one


def personal_names(rtype: RecordTypeSpec) -> frozenset[str]:
    """The fields of the type kept encrypted: those shown masked to who may not see them."""
    return frozenset(f.id for f in rtype.fields.values() if f.is_personal)


def contact_of(rtype: RecordTypeSpec, values: Mapping[str, Any]) -> str | None:
    """The value the desk looks a record up by: its first contact-type field holding one, else
    its first text field masked as a phone or an email."""
    ordered = [f for f in rtype.fields.values() if f.type == "contact"] + [
        f for f in rtype.fields.values() if f.type != "contact" and f.mask in LOOKUP_MASKS
    ]
    return next(
        (found for f in ordered if isinstance(found := values.get(f.id), str) and found.strip()),
        None,
    )


def looks_like_contact(text: str) -> bool:
    """Whether a search is a phone number or an email address, to be looked up by hash."""
    return bool(_PHONE.fullmatch(normalise(text)) or _EMAIL.fullmatch(text.strip()))


def all_fields(record: RecordView) -> dict[str, Any]:
    """Every field value of the record, the personal ones decrypted: for code that needs them
    (the record page, the API, masking, guards, exports), never for logs."""
    return {**(record.fields or {}), **(record.private_fields or {})}


def for_history(rtype: RecordTypeSpec, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Changes as the history journal keeps them ({field: value} or {field: [old, new]}): the
    personal values masked, as an edit's are, so `record_events` holds none in clear."""
    masked = masked_fields(rtype, changes)
    for name, value in changes.items():
        if name in rtype.fields and isinstance(value, list):
            masked[name] = [masked_fields(rtype, {name: v})[name] for v in value]
    return masked


def put_fields(record: Record, rtype: RecordTypeSpec, values: Mapping[str, Any]) -> None:
    """Store every field value of the record: the personal ones (a missing one dropped)
    encrypted, the rest as plain JSON, and the contact's lookup hash."""
    personal = personal_names(rtype)
    record.fields = {name: value for name, value in values.items() if name not in personal}
    private = {
        name: value for name, value in values.items() if name in personal and value is not None
    }
    record.private_fields = private or None
    record.contact_hash = lookup_hash(contact_of(rtype, private))
