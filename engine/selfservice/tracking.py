"""What a customer sees and does on their tracking page (issue #23, R-3.2, R-3.3).

The page opens by a signed link naming one record; from it the customer sees that record's
stage, promised time and thread (never the desk's internal notes, never who of the staff
wrote), the list of their own other records of the same shop, and may reply, add a photo and
confirm the solution. Nothing here reads another customer's data: every query is bound to the
record the link names or to that record's own customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from engine.access.crypto import lookup_hash
from engine.conversation import thread
from engine.customers import satisfaction
from engine.errors import InvalidInput
from engine.events import SolutionConfirmed
from engine.records.journal import add_event
from engine.specs.pack import PackSpec, RecordTypeSpec
from engine.store.models import Customer, Record, RecordEvent

OTHERS_SHOWN = 20
CONFIRMED = "solution.confirmed"
SOLUTION_FIELD = "solution"  # the name the case library reads solutions by, too


@dataclass(frozen=True)
class Mine:
    """One of the customer's records, as the list on their page shows it."""

    id: int
    stage: str
    received_at: datetime


@dataclass(frozen=True)
class CustomerView:
    """The tracking page of one record, as its customer may see it."""

    record: Record
    stage: str
    stage_kind: str
    promised: str
    messages: list[thread.Entry]
    others: list[Mine]
    confirmed: bool
    rateable: bool
    solution: str = ""  # what the desk proposes, for the customer to confirm

    @property
    def can_confirm(self) -> bool:
        return self.stage_kind == "resolved" and not self.confirmed


def view(session: Session, pack: PackSpec, record: Record) -> CustomerView:
    """The record as its customer sees it: their messages and ours, never internal notes."""
    rtype = pack.record_type(record.record_type)
    open_clocks = [c for c in record.clocks if c.met_at is None and c.deadline is not None]
    latest = max((c.deadline for c in open_clocks if c.deadline is not None), default=None)
    messages = [
        e for e in thread.thread_of(session, record.id) if e.message.direction in ("in", "out")
    ]
    rateable = (
        satisfaction.question(pack, record) is not None
        and satisfaction.answer_of(session, record.id) is None
    )
    return CustomerView(
        record=record,
        stage=rtype.stages[record.stage].title,
        stage_kind=record.stage_kind,
        promised=pack.local_minute(latest) if record.is_open else "",
        messages=messages,
        others=_others(session, pack, record),
        confirmed=is_confirmed(session, record.id),
        rateable=rateable,
        solution=_solution(rtype, record),
    )


def _solution(rtype: RecordTypeSpec, record: Record) -> str:
    """The record's solution text, where the record type has one and it is not personal."""
    field = rtype.fields.get(SOLUTION_FIELD)
    if field is None or field.is_personal or field.type != "text":
        return ""
    return str((record.fields or {}).get(SOLUTION_FIELD) or "")


def _others(session: Session, pack: PackSpec, record: Record) -> list[Mine]:
    """The same customer's other records of this pack, newest first (one query)."""
    if record.customer_id is None:
        return []
    rows = session.execute(
        select(Record.id, Record.record_type, Record.stage, Record.received_at)
        .where(
            Record.customer_id == record.customer_id,
            Record.pack == record.pack,
            Record.id != record.id,
        )
        .order_by(Record.id.desc())
        .limit(OTHERS_SHOWN)
    )
    mine = []
    for rid, type_id, stage, received in rows:
        stages = pack.record_types[type_id].stages if type_id in pack.record_types else {}
        title = stages[stage].title if stage in stages else stage
        mine.append(Mine(rid, title, received))
    return mine


def is_confirmed(session: Session, record_id: int) -> bool:
    query = select(
        exists().where(RecordEvent.record_id == record_id, RecordEvent.kind == CONFIRMED)
    )
    return bool(session.scalar(query))


def confirm(session: Session, record: Record, now: datetime) -> bool:
    """The customer confirms the solution (R-3.2) once, on a resolved record; False if before."""
    if record.stage_kind != "resolved":
        raise InvalidInput(
            f"record {record.id} is not resolved: nothing to confirm yet",
            fields={"record": "not resolved"},
        )
    if is_confirmed(session, record.id):
        return False
    add_event(session, record, now, SolutionConfirmed(), actor="customer")
    record.updated_at = now
    return True


def find_own(session: Session, pack: str, record_id: int, contact: str) -> Record | None:
    """The record with this reference whose customer's contact on file is `contact`, else None.

    Compared by the keyed hash the customer table keeps, never by decrypting contacts; a wrong
    reference and a wrong contact look the same to the asker.
    """
    hashed = lookup_hash(contact.strip())
    if not hashed:
        return None
    return session.scalars(
        select(Record)
        .join(Customer, Customer.id == Record.customer_id)
        .where(Record.id == record_id, Record.pack == pack, Customer.contact_hash == hashed)
    ).first()
