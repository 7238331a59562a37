"""The customers of a batch of intakes, found or created in one statement (R-1.1, R-1.7).

Finding a customer and then creating the missing ones was two round trips an intake, and two
first contacts of one new customer at once made the second one fail and run again.

On PostgreSQL one statement inserts the new customers (`ON CONFLICT (number) DO NOTHING`),
reads the known ones and their computed tiers: it takes no lock on a known customer, so the
intakes of one customer (a chat pushing each message, the HTTP bench's single customer) no
longer wait on each other's commits, as `DO UPDATE` made them do. A customer another
transaction creates at the same moment is neither inserted nor seen by that statement (it
reads from before the other commit): the statement runs again for it and finds it.

SQLite has one writer at a time and no `INSERT` in a `WITH`: there an `INSERT … ON
CONFLICT (number) DO UPDATE … RETURNING` does both (the update writes back the value it has)
and a second statement reads the computed tiers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Insert,
    RowMapping,
    String,
    Table,
    bindparam,
    func,
    inspect,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from engine.access.crypto import lookup_hash
from engine.records import standing
from engine.specs.pack import FieldSpec, PackSpec, RecordTypeSpec
from engine.store.models import Customer, CustomerTier

# Customers per statement: far below SQLite's limit of bound values in one statement.
_LOOKUP_CHUNK = 1_000
# Runs of PostgreSQL's statement for a customer created elsewhere meanwhile: the second finds
# it; a third only if that customer was deleted between the two (a merge) and made again.
_ATTEMPTS = 3
_COMPUTED = "computed_tier"

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
        computed: dict[int, str | None] = {}
        with session.no_autoflush:
            for first in range(0, len(wanted), _LOOKUP_CHUNK):
                chunk = wanted[first : first + _LOOKUP_CHUNK]
                if session.get_bind().dialect.name == "postgresql":
                    computed.update(_find_or_create(session, pack.name, chunk, known))
                else:
                    known.update((c.number, c) for c in session.scalars(_upsert(), chunk, **_FRESH))
            ids = [c.id for n in numbers if not (c := known[n]).tier and c.id not in computed]
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


# The customers as they are stored, over any copy the session holds.
_FRESH: dict[str, Any] = {"execution_options": {"populate_existing": True}}


def _find_or_create(
    session: Session, pack: str, rows: list[dict[str, Any]], known: dict[str, Customer]
) -> dict[int, str | None]:
    """PostgreSQL: the customers of `rows`, created where new, into `known`; their computed
    tiers in `pack` by customer id (None for a new one)."""
    tiers: dict[int, str | None] = {}
    now = rows[0]["created_at"]
    for _ in range(_ATTEMPTS):
        one = len(rows) == 1
        given = {name: _values(rows, key, one) for name, key in _GIVEN.items()}
        found = session.connection().execute(
            _found_or_created(one), {**given, "now": now, "pack": pack}
        )
        for row in found.mappings():
            customer = _as_loaded(session, row)
            known[customer.number] = customer
            tiers[customer.id] = row[_COMPUTED]
        rows = [row for row in rows if row["number"] not in known]
        if not rows:
            return tiers
    raise RuntimeError(f"customer {rows[0]['number']} was neither created nor found; retry")


# Each given column's parameter: one value when one customer is asked for (an intake through
# the API, the desk or mail), else an array of them (`unnest`), so either shape is one
# statement, compiled and prepared once, whatever the number of customers.
_GIVEN = {"numbers": "number", "names": "name", "contacts": "contact", "hashes": "contact_hash"}


def _values(rows: list[dict[str, Any]], key: str, one: bool) -> Any:
    return rows[0][key] if one else [row[key] for row in rows]


_MAPPER: Mapper[Customer] = inspect(Customer)
# (attribute, column name) of every column the statement returns.
_ATTRIBUTES = tuple((_MAPPER.get_property_by_column(c).key, c.name) for c in _MAPPER.columns)


def _as_loaded(session: Session, row: RowMapping) -> Customer:
    """The customer of a row as the session would load it with `populate_existing`: the copy
    it holds takes the stored values, else a new object joins it as persistent and loaded.
    Built here from the Core row, as intakerows does for records: the ORM's loading was a
    third of the customer's statement's cost in an HTTP intake (issue #24)."""
    held = session.identity_map.get(identity_key(Customer, (row["id"],)))
    if isinstance(held, Customer):
        for key, column in _ATTRIBUTES:
            set_committed_value(held, key, row[column])
        return held
    customer: Customer = _MAPPER.class_manager.new_instance()
    customer.__dict__.update((key, row[column]) for key, column in _ATTRIBUTES)
    make_transient_to_detached(customer)
    session.add(customer)
    return customer


@functools.cache
def _found_or_created(one: bool) -> CompoundSelect[Any]:
    """`WITH fresh AS (INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING …)` the new customers
    `UNION ALL` the known ones, each with its computed tier in `:pack`.

    One customer takes plain parameters rather than arrays of one: PostgreSQL cannot tell an
    array's length from a prepared statement's generic plan, so it planned the array shape
    afresh on every execution (pg_prepared_statements: 195 custom plans of 195), about 15 %
    of its CPU an HTTP intake (issue #24); the plain shape is planned once per connection."""
    table = Customer.__table__
    assert isinstance(table, Table)  # SQLAlchemy types it as any FromClause
    types = {name: table.c[key].type for name, key in _GIVEN.items()}
    now = bindparam("now", type_=table.c.created_at.type)
    if one:
        source = select(*(bindparam(n, type_=t).label(_GIVEN[n]) for n, t in types.items()), now)
        named = table.c.number == bindparam("numbers", type_=types["numbers"])
    else:
        arrays = [bindparam(name, type_=ARRAY(type_)) for name, type_ in types.items()]
        given = func.unnest(*arrays).table_valued(*_GIVEN.values()).render_derived(name="given")
        source = select(*given.c, now)
        named = table.c.number == func.any(bindparam("numbers"))
    fresh = (
        postgresql.insert(table)
        .from_select([*_GIVEN.values(), "created_at"], source)
        .on_conflict_do_nothing(index_elements=[table.c.number])
        .returning(*table.c)
        .cte("fresh")
    )
    tier = (
        select(CustomerTier.tier)
        .where(CustomerTier.pack == bindparam("pack"), CustomerTier.customer_id == table.c.id)
        .scalar_subquery()
    )
    both = union_all(
        select(*fresh.c, null().cast(String).label(_COMPUTED)),
        select(*table.c, tier.label(_COMPUTED)).where(named),
    )
    return both


def _upsert() -> Insert:
    """SQLite: `INSERT … ON CONFLICT (number) DO UPDATE … RETURNING` the customers; sent with
    the rows as parameters, so its compiled form is cached and the rows go in batches
    (SQLAlchemy's insertmanyvalues)."""
    upsert: Insert = sqlite.insert(Customer).on_conflict_do_update(
        index_elements=[Customer.number],
        set_={"created_at": Customer.created_at},  # itself: the row comes back unchanged
    )
    return upsert.returning(Customer)
