"""Customers and their purchases written set-based, for imports: a chunk of rows in a handful
of statements.

`profiles.upsert_customer` serves one customer at a time (the API, the admin's form), with a
SELECT and a flush per customer: a 1 MB CSV of 13,000 customers took 19 s on SQLite and 46 s
on PostgreSQL that way (issue #22 item 5). Here one chunk costs one SELECT of the numbers
already known, one INSERT … RETURNING of the new ones, one executemany UPDATE of the others,
one INSERT of their consent history, one UPDATE per changed queue rank and, for tiers set,
one SELECT and one INSERT of their `tier` events, with the same outcome as `upsert_customer`
row by row: the lookup hash in step with the contact, the birthday's index, consent changes
with when and where, the open records' rank for a tier, a tier set entered as the desk enters
it (`handtiers.enter`, R-5.2).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from engine.access.crypto import lookup_hash
from engine.customers import handtiers, orderstats
from engine.customers.profiles import CONSENTS, PROFILE, birth_md, tier_rank
from engine.errors import InvalidInput
from engine.specs.pack import PackSpec
from engine.store.models import Customer, CustomerEvent, Order, Record
from engine.time.clock import require_aware

CHUNK = 1000  # rows per statement group: IN lists and executemany batches stay moderate
NEW_CONSENT = {"consent_service": True, "consent_marketing": False}  # the columns' defaults
# Every column a new row may set, so the INSERT's rows all have the same keys.
NEW = {
    key: None
    for key in (
        *PROFILE,
        *("birth_md", "contact_hash", "consent_at", "consent_source"),
        *("contact_failing_at", "contact_failing_reason"),
    )
} | NEW_CONSENT


def upsert_customers(
    session: Session, packs: Sequence[PackSpec], rows: Sequence[dict[str, Any]], now: datetime
) -> int:
    """Create or update one customer per row (numbers unique within `rows`); rows written.
    A tier a row sets is entered in the `packs` that declare it (R-5.2)."""
    known = {
        row.number: row
        for row in session.execute(
            select(
                Customer.id,
                Customer.number,
                Customer.tier,
                Customer.contact_hash,
                Customer.consent_service,
                Customer.consent_marketing,
            ).where(Customer.number.in_([row["number"] for row in rows]))
        )
    }
    new: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    consent: list[tuple[str, str, bool, str]] = []  # number, column, value, source
    ranks: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        old = known.get(row["number"])
        values, changed = _values(row, old, now)
        consent.extend(
            (row["number"], key, values[key], values["consent_source"]) for key in changed
        )
        if old is None:
            new.append(NEW | values)
        elif values:
            changes.append({"id": old.id, **values})
            if "tier" in row and tier_rank(row["tier"]) != tier_rank(old.tier):
                ranks[tier_rank(row["tier"])].append(old.id)
    ids = {number: row.id for number, row in known.items()}
    if new:
        # Core on the table: one multi-row INSERT … RETURNING per batch ("insertmanyvalues");
        # the ORM's bulk insert with RETURNING ran one statement per row here.
        table: Table = Customer.__table__  # type: ignore[assignment]
        created = session.execute(insert(table).returning(table.c.id, table.c.number), new)
        ids.update({number: id_ for id_, number in created})
    if changes:
        session.execute(update(Customer), changes)
    _consent_history(session, consent, ids, now)
    handtiers.enter(session, packs, _hand_tiers(rows, known, ids), now)
    for rank, customer_ids in ranks.items():
        _rerank(session, customer_ids, rank)
    return len(rows)


def _hand_tiers(
    rows: Sequence[dict[str, Any]], known: dict[str, Any], ids: dict[str, int]
) -> dict[int, handtiers.Change]:
    """Customer id → (tier set by hand before, tier the row sets), for the rows that set one."""
    return {
        ids[row["number"]]: (known[row["number"]].tier if row["number"] in known else None, tier)
        for row in rows
        if (tier := row.get("tier"))
    }


def add_orders(session: Session, rows: Sequence[dict[str, Any]], now: datetime) -> int:
    """`profiles.add_order` for a chunk of purchases whose customers exist: new ones inserted
    at once, a repeated external id bringing only its shipping time; rows written."""
    _refuse_future(rows, now)
    ids: dict[str, int] = {
        number: id_
        for number, id_ in session.execute(
            select(Customer.number, Customer.id).where(
                Customer.number.in_({row["customer"] for row in rows})
            )
        )
    }
    stored = {
        (customer_id, external_id): (order_id, shipped_at)
        for order_id, customer_id, external_id, shipped_at in session.execute(
            select(Order.id, Order.customer_id, Order.external_id, Order.shipped_at).where(
                Order.customer_id.in_(set(ids.values())),
                Order.external_id.in_({row["external_id"] for row in rows}),
            )
        )
    }
    new, shipped = _new_and_shipped(rows, ids, stored, now)
    orders: Table = Order.__table__  # type: ignore[assignment]
    if new:
        session.execute(insert(orders), new)
        orderstats.refresh(session, {row["customer_id"] for row in new})
    if shipped:
        session.execute(
            update(Order), [{"id": id_, "shipped_at": at} for id_, at in shipped.items()]
        )
    return len(rows)


def _refuse_future(rows: Sequence[dict[str, Any]], now: datetime) -> None:
    """As `add_order` does (the import's check names such rows first)."""
    for row in rows:
        for column in ("ordered_at", "shipped_at"):
            if row.get(column) is not None and require_aware(row[column]) > now:
                raise InvalidInput(f"{column} lies in the future", fields={column: "in the future"})


def _new_and_shipped(
    rows: Sequence[dict[str, Any]],
    ids: dict[str, int],
    stored: dict[tuple[int, str], tuple[int, datetime | None]],
    now: datetime,
) -> tuple[list[dict[str, Any]], dict[int, datetime]]:
    """The purchases to insert, and the stored ones a repeat ships (order id → shipped at)."""
    new: dict[tuple[int, str], dict[str, Any]] = {}
    shipped: dict[int, datetime] = {}
    for row in rows:
        key = (ids[row["customer"]], row["external_id"])
        at = row.get("shipped_at")
        if key in new:  # the same purchase twice in the file: the repeat ships it at most
            new[key]["shipped_at"] = at or new[key]["shipped_at"]
        elif key in stored:
            if at is not None and at != stored[key][1]:
                shipped[stored[key][0]] = at
        else:
            new[key] = {
                "customer_id": key[0],
                "external_id": key[1],
                "amount": row["amount"],
                "currency": row.get("currency", "CNY"),
                "ordered_at": row["ordered_at"],
                "shipped_at": at,
                "items": list(row.get("items") or []),
                "created_at": now,
            }
    return list(new.values()), shipped


def _values(row: dict[str, Any], old: Any, now: datetime) -> tuple[dict[str, Any], list[str]]:
    """The columns one row sets, as `upsert_customer` would, and the consents it changes;
    `old` is the stored customer's row (id, number, tier, contact_hash, consents) or None."""
    values: dict[str, Any] = {"number": row["number"], "created_at": now} if old is None else {}
    values.update({key: row[key] for key in PROFILE if key in row})
    if "birthday" in row:
        values["birth_md"] = birth_md(row["birthday"])
    if "contact" in row:
        values["contact_hash"] = lookup_hash(row["contact"])
        if old is None or values["contact_hash"] != old.contact_hash:
            values["contact_failing_at"] = values["contact_failing_reason"] = None
    return values, _consents(row, old, now, values)


def _consents(row: dict[str, Any], old: Any, now: datetime, values: dict[str, Any]) -> list[str]:
    """The consents the row changes, set in `values` with when and where."""
    before = NEW_CONSENT if old is None else {key: getattr(old, key) for key in CONSENTS}
    changed = [
        key for key in CONSENTS if row.get(key) is not None and bool(row[key]) != before[key]
    ]
    for key in changed:
        values[key] = bool(row[key])
    if changed:
        values["consent_at"] = now
        values["consent_source"] = str(row.get("consent_source") or "api")[:64]
    return changed


def _consent_history(
    session: Session,
    changes: list[tuple[str, str, bool, str]],
    ids: dict[str, int],
    now: datetime,
) -> None:
    if not changes:
        return
    events: Table = CustomerEvent.__table__  # type: ignore[assignment]
    session.execute(
        insert(events),
        [
            {
                "customer_id": ids[number],
                "at": now,
                "kind": "consent",
                "old_value": key.removeprefix("consent_"),
                "new_value": "granted" if value else "withdrawn",
                "rule": f"source: {source}"[:300],
            }
            for number, key, value, source in changes
        ],
    )


def _rerank(session: Session, customer_ids: list[int], rank: int) -> None:
    """`queue.set_tier_rank` for many customers at once."""
    session.execute(
        update(Record)
        .where(
            Record.customer_id.in_(customer_ids),
            Record.is_open.is_(True),
            Record.tier_rank != rank,
        )
        .values(tier_rank=rank, row_version=Record.row_version + 1)
        .execution_options(synchronize_session=False)
    )
