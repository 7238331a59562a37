"""The contacts the process promises the customer, sent when they come due (R-3.2, R-3.3).

A stage change, a follow-up or a moved deadline arms a `contact` timer in its own transaction
(`time.followups`); this sweep claims those timers apart from the SLA batch, because each is a
message on the record's thread. A batch of them is computed in Python, then written
set-based (`contactwrite`: one statement per kind of row, whatever the batch's size). A
contact is sent on the channel the customer is answered on, with their consent to service
messages; a contact that cannot or need not be sent is skipped, and the history says why, so
a supervisor can see that a customer was told, or why not.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, raiseload, sessionmaker

from engine.access.masking import masked_fields
from engine.conversation import contactwrite, thread
from engine.conversation.addressing import answer_channel, is_gateway
from engine.conversation.contactfacts import ContactFacts
from engine.customers import satisfaction
from engine.customers.surveylinks import TRACKING_VALID_FOR, SurveyLinks
from engine.errors import InvalidInput
from engine.events import ContactSkipped
from engine.records.personal import all_fields
from engine.records.versions import SpecCache
from engine.specs.pack import ContactSpec, PackSpec
from engine.store.models import Record, RecordEvent
from engine.time import batchwrite
from engine.time.claims import Due, among, claim
from engine.time.sweepers import Held, how_many, side_by_side
from engine.time.timers import BACKLOG_GROWTH, Fired

log = logging.getLogger(__name__)
MAX_BATCHES = 1_000  # a sweep ends even if contacts keep coming due while it runs
CANCELLED = "cancelled"  # the pack no longer has the timer's contact


def send_due(
    session_factory: sessionmaker[Session],
    specs: SpecCache,
    links: SurveyLinks | None,
    now: datetime,
    *,
    batch_size: int = 50,
    sweepers: int | None = None,
) -> tuple[list[Fired], int]:
    """Send or skip every contact due at `now`, once, oldest first; a record someone holds
    is left for the next sweep, a contact that fails is retried by later sweeps. What was
    done, and in how many batches (each one transaction): after a full batch the next is
    twice as large, up to `BACKLOG_GROWTH` × `batch_size`, as the timers' sweep grows its
    own. `sweepers` side by side on PostgreSQL (`time.sweepers.how_many`)."""
    done = side_by_side(
        how_many(session_factory, sweepers),
        lambda: _send_due_alone(session_factory, specs, links, now, batch_size),
    )
    fired = sorted((f for sent, _ in done for f in sent), key=lambda f: (f.due_at, f.timer_id))
    return fired, sum(batches for _, batches in done)


def _send_due_alone(
    session_factory: sessionmaker[Session],
    specs: SpecCache,
    links: SurveyLinks | None,
    now: datetime,
    batch_size: int,
) -> tuple[list[Fired], int]:
    """One sweeper's loop over the contacts due. A contact whose record another sweeper or
    an agent holds is passed over, and tried again when nothing else is left (until a try
    sends nothing): the other sweeper may have ended meanwhile."""
    fired: list[Fired] = []
    passed: set[int] = set()  # failed: retried by a later sweep
    held = Held()
    batches, size = 0, batch_size
    for _ in range(MAX_BATCHES):
        with session_factory() as session:
            timers = claim(session, now, size, skip=passed | held.ids, contacts=True)
            if len(timers) == size:  # a backlog: larger batches, as the timers' sweep takes
                size = min(size * 2, batch_size * BACKLOG_GROWTH)
            if not timers:
                if held.try_again(len(fired)):
                    continue
                break
            records = _lock(session, timers)
            facts = ContactFacts.read(session, records)
            done: list[Fired] = []
            told: list[contactwrite.Told] = []
            for timer in timers:
                record = records.get(timer.record_id)
                if record is None:
                    held.ids.add(timer.id)
                    continue
                outcome = _attempt(session, specs, links, facts, record, timer, now)
                if outcome is None:
                    passed.add(timer.id)
                    continue
                if isinstance(outcome, contactwrite.Told):
                    told.append(outcome)
                fired_as = "cancelled" if outcome == CANCELLED else "fired"
                done.append(
                    Fired(timer.id, record.id, timer.kind, timer.due_at, fired_as, record.pack)
                )
            failed = _write(session, told, {t.id: t for t in timers})
            passed.update(failed)
            done = [f for f in done if f.timer_id not in failed]
            _mark(session, done, now)
            fired.extend(done)
            session.commit()
            batches += 1
    return fired, batches


def _lock(session: Session, timers: Sequence[Due]) -> dict[int, Record]:
    """The timers' records, locked in id order; one another transaction holds is left out.
    Their customers, which every contact reads, come joined to them (only the records are
    locked: a customer's row is not the batch's to hold): a `selectin` of the customers was
    a third round trip and a third of the batch's CPU. Not their clocks: a contact reads
    their deadlines alone (`ContactFacts.deadlines`)."""
    ids = sorted({t.record_id for t in timers})
    found = session.scalars(
        select(Record)
        .where(among(session, Record.id, ids))
        .order_by(Record.id)
        .with_for_update(skip_locked=True, key_share=True, of=Record)
        .options(joinedload(Record.customer), raiseload(Record.clocks))
    )
    return {record.id: record for record in found}


def _attempt(
    session: Session,
    specs: SpecCache,
    links: SurveyLinks | None,
    facts: ContactFacts,
    record: Record,
    timer: Due,
    now: datetime,
) -> contactwrite.Told | str | None:
    """The contact's rows to write, or `cancelled` when the pack no longer has the contact;
    None after a failure, counted on the timer. Nothing is written here."""
    try:
        pack = specs.get(session, record.pack_version_id)
        contact = pack.record_type(record.record_type).contacts.get(timer.name)
        if contact is None:
            return CANCELLED
        return _contact(pack, record, contact, links, facts, now, timer.id)
    except Exception as exc:  # one bad contact must not stop the others
        log.exception("contact timer %s (%s) failed", timer.id, timer.name)
        batchwrite.record_failure(session, timer, exc)
        return None


def _write(session: Session, told: Sequence[contactwrite.Told], timers: dict[int, Due]) -> set[int]:
    """Write the batch's contacts together; if that fails, each alone under a savepoint,
    so one bad contact is retried later without holding back the rest. The timers that
    failed, counted on them."""
    try:
        with session.begin_nested():
            contactwrite.write(session, told)
        return set()
    except Exception as exc:
        log.warning("a batch of %d contacts failed (%s); writing them one by one", len(told), exc)
    failed: set[int] = set()
    for one in told:
        try:
            with session.begin_nested():
                contactwrite.write(session, [one])
        except Exception as exc:  # one bad contact must not stop the others
            log.exception("contact timer %s failed", one.timer_id)
            batchwrite.record_failure(session, timers[one.timer_id], exc)
            failed.add(one.timer_id)
    return failed


def _mark(session: Session, done: Sequence[Fired], now: datetime) -> None:
    """The batch's timers sent or skipped (`fired`) or without their contact (`cancelled`),
    in one statement, in the transaction that wrote their effects."""
    batchwrite.mark(
        session,
        [f.timer_id for f in done if f.outcome == "fired"],
        [f.timer_id for f in done if f.outcome == "cancelled"],
        now,
    )


def _contact(
    pack: PackSpec,
    record: Record,
    contact: ContactSpec,
    links: SurveyLinks | None,
    facts: ContactFacts,
    now: datetime,
    timer_id: int,
) -> contactwrite.Told:
    """The contact's message, or why it is not sent: either way one line on the record's
    history, the timer's (unique per timer: a contact cannot be told twice)."""
    skipped = _reason_to_skip(pack, record, contact, facts, now)
    if skipped is not None:
        skip = ContactSkipped(contact.name, *skipped)
        return contactwrite.Told(timer_id, record, contact.name, now, skipped=skip)
    channel = answer_channel(pack, record, record.customer)
    try:  # refused before anything is written
        rows = _message(pack, record, contact, channel, links, facts, now)
    except InvalidInput as exc:
        skip = ContactSkipped(contact.name, "unreachable", f"{channel}: {exc}")
        return contactwrite.Told(timer_id, record, contact.name, now, skipped=skip)
    return contactwrite.Told(timer_id, record, contact.name, now, channel, rows)


def _reason_to_skip(
    pack: PackSpec, record: Record, contact: ContactSpec, facts: ContactFacts, now: datetime
) -> tuple[str, str] | None:
    """(reason, detail) when the contact must not go out now, else None."""
    rtype = pack.record_type(record.record_type)
    stage = rtype.stages[record.stage]
    if contact.on_entering is not None and not contact.on_entering.matches(stage):
        return "moved_on", stage.title
    if contact.on_followup is not None and not record.is_open:
        return "moved_on", stage.title
    customer = record.customer
    if customer is None:
        return "no_customer", ""
    if not customer.consent_service:
        return "no_consent", customer.number
    window = contact.unless_replied_within
    if window is not None:
        since = now - timedelta(seconds=window.seconds())
        if facts.agent_wrote_since(record.id, since):
            return "replied", since.isoformat()
    return None


def _message(
    pack: PackSpec,
    record: Record,
    contact: ContactSpec,
    channel: str,
    links: SurveyLinks | None,
    facts: ContactFacts,
    now: datetime,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The contact's text as its outbox row and its thread row (`thread.system_rows`).

    InvalidInput where it cannot go: a channel Careloop does not deliver on here, or a
    customer without an address the channel can use."""
    if channel != "email" and not is_gateway(pack, channel):
        raise InvalidInput(f"Careloop cannot deliver on '{channel}'; connect a gateway for it")
    subject, body = pack.template(contact.message).texts(channel)
    context = _context(pack, record, channel, links, facts, now)
    return thread.system_rows(
        pack,
        record,
        body.render(context),
        channel=channel,
        subject=subject.render(context).strip()[:300],
        now=now,
        mail_ids=facts.mail_ids.get(record.id, []),
    )


def _context(
    pack: PackSpec,
    record: Record,
    channel: str,
    links: SurveyLinks | None,
    facts: ContactFacts,
    now: datetime,
) -> dict[str, Any]:
    """What a contact's template sees: the record (personal fields masked, as everywhere),
    the customer's own name, the promised times in the pack's zone, the survey link and the
    tracking link (issue #23)."""
    rtype = pack.record_type(record.record_type)
    open_clocks = facts.deadlines.get(record.id, [])
    deadlines = {target: pack.local_minute(deadline) for target, deadline in open_clocks}
    latest = max((deadline for _, deadline in open_clocks), default=None)
    customer = record.customer
    return {
        "record": {
            **masked_fields(rtype, all_fields(record)),
            "id": record.id,
            "stage": rtype.stages[record.stage].title,
            "priority": record.priority,
            "category": record.category,
        },
        "customer": {
            "name": (customer.name or "") if customer else "",
            "number": customer.number if customer else "",
        },
        "reference": f"CL-{record.id}",
        "channel": channel,
        "deadlines": deadlines,
        "promised": pack.local_minute(latest) if latest is not None else "",
        "survey_link": _survey_link(pack, record, links, facts, now),
        "tracking_link": _tracking_link(pack, record, links, now),
        "extension": _last_extension(pack, facts.extensions.get(record.id)),
    }


def _survey_link(
    pack: PackSpec, record: Record, links: SurveyLinks | None, facts: ContactFacts, now: datetime
) -> str:
    """The signed link to the record's survey, when the pack asks this record now (R-3.3)."""
    question = satisfaction.question(pack, record)
    if links is None or question is None or record.id in facts.answered:
        return ""
    return links.link(record.id, now + question.link_valid_for)


def _tracking_link(pack: PackSpec, record: Record, links: SurveyLinks | None, now: datetime) -> str:
    """The signed link to the customer's own page of the record, where the pack has a portal."""
    if links is None or pack.portal is None:
        return ""
    return links.tracking_link(pack.name, record.id, now + TRACKING_VALID_FOR)


def _last_extension(pack: PackSpec, event: RecordEvent | None) -> dict[str, str]:
    """The reason and the deadlines of the record's latest deadline move, for its notice."""
    if event is None:
        return {"reason": "", "old_deadline": "", "new_deadline": ""}
    old, new = event.changes["deadline"]
    return {
        "reason": event.changes.get("reason", ""),
        "old_deadline": pack.local_minute(datetime.fromisoformat(old)),
        "new_deadline": pack.local_minute(datetime.fromisoformat(new)),
    }
