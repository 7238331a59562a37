"""The customers of a batch of intakes, found or created in one statement (R-1.1, R-1.7).

Finding a customer and then creating the missing ones was two round trips an intake, and two
first contacts of one new customer at once made the second one fail and run again. An
`INSERT … ON CONFLICT (number) DO UPDATE … RETURNING` does both at once on SQLite and
PostgreSQL: a known customer comes back as it is (the update writes back the value it
has, a column no key covers, so it takes no lock a record's foreign key waits on), a new one
is created from the first intake naming it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine.access.crypto import lookup_hash
from engine.records import standing
from engine.specs.pack import FieldSpec, PackSpec, RecordTypeSpec
from engine.store.models import Customer, CustomerTier

# Customers per statement: far below SQLite's limit of bound values in one statement.
_LOOKUP_CHUNK = 1_000

# Customers of the session by number, so a batch neither asks for a customer again nor
# creates one twice when a session takes several batches.
_KNOWN = "careloop.customers"


def customer_number(rtype: RecordTypeSpec, values: Mapping[str, Any]) -> str | None:
    """The value of the record type's customer field, if given."""
    return next(
        (values[f.id] for f in rtype.fields.values() if f.type == "customer" and values.get(f.id)),
        None,
    )


def _first(
    rtype: RecordTypeSpec, values: Mapping[str, Any], wanted: Callable[[FieldSpec], bool]
) -> Any:
    """The first given value of a field `wanted` picks: a new customer's name or contact."""
    return next(
        (values[f.id] for f in rtype.fields.values() if wanted(f) and values.get(f.id)), None
    )


@dataclass
class CustomerLookup:
    """A batch's customers by number, and their computed tiers, each read with one statement."""

    pack: PackSpec
    found: dict[str, Customer]
    tiers: dict[int, str | None]

    @classmethod
    def of(
        cls,
        session: Session,
        pack: PackSpec,
        given: Sequence[tuple[RecordTypeSpec, Mapping[str, Any]]],
        now: datetime,
    ) -> CustomerLookup:
        """Find or create the customers the checked `given` values name."""
        known: dict[str, Customer] = session.info.setdefault(_KNOWN, {})
        rows: dict[str, dict[str, Any]] = {}
        numbers: set[str] = set()
        for rtype, values in given:
            number = customer_number(rtype, values)
            if number is not None:
                numbers.add(number)
            if number is None or number in known or number in rows:
                continue
            contact = _first(rtype, values, lambda f: f.type == "contact")
            rows[number] = {
                "number": number,
                "name": _first(rtype, values, lambda f: f.mask == "name"),
                "contact": contact,
                "contact_hash": lookup_hash(contact),
                "created_at": now,
            }
        wanted = list(rows.values())
        with session.no_autoflush:
            for first in range(0, len(wanted), _LOOKUP_CHUNK):
                known.update(
                    (c.number, c)
                    for c in session.scalars(
                        _upsert(session),
                        wanted[first : first + _LOOKUP_CHUNK],
                        execution_options={"populate_existing": True},
                    )
                )
            ids = [c.id for n in numbers if not (c := known[n]).tier]
            computed: dict[int, str | None] = {}
            for first in range(0, len(ids) if pack.tiers else 0, _LOOKUP_CHUNK):
                computed.update(
                    (row.customer_id, row.tier)
                    for row in session.execute(
                        select(CustomerTier.customer_id, CustomerTier.tier).where(
                            CustomerTier.pack == pack.name,
                            CustomerTier.customer_id.in_(ids[first : first + _LOOKUP_CHUNK]),
                        )
                    )
                )
        return cls(pack, known, computed)

    def customer(self, rtype: RecordTypeSpec, values: Mapping[str, Any]) -> Customer | None:
        """The customer these values name, or None when they name none."""
        number = customer_number(rtype, values)
        return None if number is None else self.found[number]

    def tier_of(self, customer: Customer | None) -> str | None:
        """`standing.tier_of`, the computed tiers taken from what the batch read."""
        return standing.tier_of(self.pack, customer, self.tiers.get)


def _upsert(session: Session) -> Insert:
    """`INSERT … ON CONFLICT (number) DO UPDATE … RETURNING` the customers, in the dialect;
    sent with the rows as parameters, so its compiled form is cached and the rows go in
    batches (SQLAlchemy's insertmanyvalues)."""
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    upsert: Insert = module.insert(Customer).on_conflict_do_update(
        index_elements=[Customer.number],
        set_={"created_at": Customer.created_at},  # itself: the row comes back unchanged
    )
    return upsert.returning(Customer)
