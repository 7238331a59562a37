"""Canned responses for one record (issue #21): the pack's and the agent's own, rendered.

Each text is rendered here, on the server, in Jinja2's sandbox, for the record it is offered
on: the record's personal fields masked as on every page (R-1.2, R-8.3), the customer's own
name (the text is addressed to them) and number, the record's reference and the agent's name.
An agent's own texts are checked with the same rules as the pack's when they are saved, so a
text that would loop or reach Python internals is refused with the reason, never stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import TemplateError
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access.masking import masked_fields
from engine.errors import InvalidInput, NotFound
from engine.records.personal import all_fields
from engine.specs.canned import compile_canned
from engine.specs.expressions import ExpressionError, MessageTemplate
from engine.specs.pack import PackSpec, TransitionSpec
from engine.store.models import CannedResponse, Record

log = logging.getLogger(__name__)
MAX_TITLE = 100
MAX_OWN = 200  # an agent's own texts shown in the reply box


@dataclass(frozen=True)
class Offered:
    """A canned text as the reply box offers it; `transition` only where the stage allows it."""

    key: str  # pack:<id> or own:<row id>
    title: str
    keywords: tuple[str, ...]
    text: str
    transition: str | None = None
    transition_title: str | None = None


def offered(
    session: Session, pack: PackSpec, record: Record, agent: str, name: str
) -> list[Offered]:
    """The pack's texts for the record's type, then the agent's own, each rendered for it."""
    context = _context(pack, record, name)
    rtype = pack.record_type(record.record_type)
    available = {t.id: t.title for t in rtype.transitions_from(record.stage)}
    found = []
    for canned in pack.canned_responses:
        if canned.serves(record.record_type):
            text = _render(canned.body, context, f"pack:{canned.id}")
            then = canned.transition if canned.transition in available else None
            if text is not None:
                found.append(
                    Offered(
                        f"pack:{canned.id}",
                        canned.title,
                        canned.keywords,
                        text,
                        then,
                        available[then] if then else None,
                    )
                )
    for row in own(session, agent)[:MAX_OWN]:
        text = _render(_compiled(row.body), context, f"own:{row.id}")
        if text is not None:
            found.append(Offered(f"own:{row.id}", row.title, (), text))
    return found


def after_sending(
    pack: PackSpec, record: Record, key: str
) -> tuple[TransitionSpec, dict[str, Any]] | None:
    """The transition (and its form's values) of the pack's canned response `key`, when the
    record's stage allows it now."""
    canned = next((c for c in pack.canned_responses if f"pack:{c.id}" == key), None)
    if canned is None or not canned.serves(record.record_type):
        return None
    available = pack.record_type(record.record_type).transitions_from(record.stage)
    found = next((t for t in available if t.id == canned.transition), None)
    return (found, dict(canned.set)) if found is not None else None


def own(session: Session, owner: str) -> list[CannedResponse]:
    return list(
        session.scalars(
            select(CannedResponse).where(CannedResponse.owner == owner).order_by(CannedResponse.id)
        )
    )


def save(
    session: Session, owner: str, title: str, body: str, now: datetime, canned_id: int | None
) -> CannedResponse:
    """Add or change one of the owner's texts; InvalidInput says what is wrong with it."""
    title = title.strip()
    if not title or len(title) > MAX_TITLE:
        raise InvalidInput(
            f"a title of 1 to {MAX_TITLE} characters is required", fields={"title": "required"}
        )
    try:
        compile_canned(body)
    except ExpressionError as exc:
        hint = f" ({exc.hint})" if exc.hint else ""
        raise InvalidInput(f"{exc.message}{hint}", fields={"body": exc.message}) from None
    if not body.strip():
        raise InvalidInput("the text is empty", fields={"body": "required"})
    row = (
        get_own(session, owner, canned_id)
        if canned_id is not None
        else CannedResponse(owner=owner, created_at=now)
    )
    row.title, row.body = title, body
    session.add(row)
    session.flush()
    return row


def get_own(session: Session, owner: str, canned_id: int) -> CannedResponse:
    """One of the owner's texts; another agent's is NotFound, as if it did not exist."""
    row = session.get(CannedResponse, canned_id)
    if row is None or row.owner != owner:
        raise NotFound(f"you have no canned response {canned_id}")
    return row


def _context(pack: PackSpec, record: Record, agent_name: str) -> dict[str, Any]:
    rtype = pack.record_type(record.record_type)
    customer = record.customer
    return {
        "record": {
            **masked_fields(rtype, all_fields(record)),
            "id": record.id,
            "stage": rtype.stages[record.stage].title if record.stage in rtype.stages else "",
            "priority": record.priority,
            "category": record.category,
        },
        "customer": {
            "name": (customer.name or "") if customer else "",
            "number": customer.number if customer else "",
        },
        "reference": f"CL-{record.id}",
        "agent": agent_name,
    }


def _compiled(body: str) -> MessageTemplate | None:
    """A stored text compiled again: one that no longer passes the checks is not offered."""
    try:
        return compile_canned(body)
    except ExpressionError:
        return None


def _render(template: MessageTemplate | None, context: dict[str, Any], key: str) -> str | None:
    if template is None:
        return None
    try:
        return template.render(context).strip()
    except (TemplateError, TypeError, ValueError):
        log.warning("canned response %s does not render", key, exc_info=True)
        return None
