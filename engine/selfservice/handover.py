"""A chat the box could not finish goes to a person (issue #23): a record with the chat attached.

The record is what the pack's `intake.<handover channel>` makes of a first message (the same
rule as a first SMS or mail, engine/conversation/firstcontact.py): the customer found by their
contact's keyed hash or numbered from it, the record type, priority and department the pack
names. The chat so far becomes the record's thread, the customer's lines as received messages
and the box's answers as notes, so the agent reads what the customer already saw. The chat's
own id is the record's external id: a second click on "hand over" finds the same record.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from sqlalchemy.orm import Session

from engine.conversation import thread
from engine.conversation.firstcontact import FirstContact, open_record
from engine.errors import InvalidInput
from engine.records import intake
from engine.selfservice.outcomes import record_outcome
from engine.specs.pack import PackSpec
from engine.store.models import PackVersion, Record

CHAT_ID: Final = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_TURNS: Final = 40
MAX_TURN: Final = 2000
MAX_NAME: Final = 100
MAX_CONTACT: Final = 200
BOT: Final = "chat-bot"
ACTOR: Final = "portal:chat"


@dataclass(frozen=True)
class Turn:
    """One line of the chat: the customer's words or the box's answer."""

    who: Literal["customer", "bot"]
    text: str


@dataclass(frozen=True)
class Handover:
    """What the customer gives to be called back, and the chat so far."""

    chat_id: str
    contact: str
    name: str
    turns: Sequence[Turn]


def check(handover: Handover) -> None:
    """InvalidInput naming each part out of bounds, before anything is written."""
    problems: dict[str, str] = {}
    if not CHAT_ID.match(handover.chat_id):
        problems["chat_id"] = "8–64 letters, digits, - or _"
    if not handover.contact.strip() or len(handover.contact) > MAX_CONTACT:
        problems["contact"] = f"a phone or mail address of at most {MAX_CONTACT} characters"
    if len(handover.name) > MAX_NAME:
        problems["name"] = f"at most {MAX_NAME} characters"
    customer = [t for t in handover.turns if t.who == "customer" and t.text.strip()]
    if not customer or len(handover.turns) > MAX_TURNS:
        problems["turns"] = f"1–{MAX_TURNS} lines, at least one from the customer"
    elif any(len(t.text) > MAX_TURN for t in handover.turns):
        problems["turns"] = f"each line at most {MAX_TURN} characters"
    if problems:
        raise InvalidInput("the hand-over does not fit: " + ", ".join(problems), fields=problems)


def hand_over(
    session: Session, spec: PackSpec, version: PackVersion, handover: Handover, *, now: datetime
) -> tuple[Record, bool]:
    """The record the chat became, and whether it was made now (False: handed over before)."""
    check(handover)
    if spec.instant_answers is None:
        raise InvalidInput(f"pack {spec.name} has no instant_answers", fields={"pack": spec.name})
    channel = spec.instant_answers.handover
    external_id = f"chat:{handover.chat_id}"
    rule = spec.intake[channel]
    key = intake.NewRecord(rule.record_type, {}, channel=channel, external_id=external_id)
    earlier = intake.find_external(session, spec.name, key)
    if earlier is not None:
        return earlier, False
    asked = [t.text.strip() for t in handover.turns if t.who == "customer" and t.text.strip()]
    contact = FirstContact(
        address=handover.contact.strip(),
        name=handover.name.strip(),
        title="",
        text="\n".join(asked),
        received_at=now,
        external_id=external_id,
    )
    record = open_record(session, spec, version, channel, contact, actor=ACTOR, now=now)
    session.flush()
    for turn in handover.turns:
        if not turn.text.strip():
            continue
        if turn.who == "customer":
            thread.receive(
                session, spec, record, turn.text, channel=channel, author="customer", now=now
            )
        else:
            thread.add_note(session, record, f"自助回答：{turn.text}", actor=BOT, now=now)
    record_outcome(
        session,
        kind="handed_over",
        source="chat",
        at=now,
        pack=spec.name,
        query=asked[-1],
        record_id=record.id,
    )
    return record, True
