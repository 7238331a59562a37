"""Use cases of a record's thread: read it, answer the customer, note, take their message in,
open one of its files."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError

from engine.conversation import attachments, gatewayintake, mailintake, resend, thread
from engine.conversation.attachments import StoredFile
from engine.conversation.gatewayintake import GatewayMessage, GatewayOutcome
from engine.conversation.mail import Attachment, read_mail
from engine.conversation.mailintake import MailOutcome
from engine.delivery.receipts import take_receipt
from engine.errors import InvalidInput
from engine.records import transitions
from engine.services.base import ServiceBase, conflict_on_stale
from engine.store.models import ThreadMessage


class ConversationServices(ServiceBase):
    """The thread of a record (issue #20); each write is one transaction with its effects."""

    def thread(self, record_id: int) -> list[thread.Entry]:
        with self.uow() as uow:
            transitions.get_record(uow.session, record_id)  # NotFound before an empty list
            return thread.thread_of(uow.session, record_id)

    def attachment(
        self, record_id: int, attachment_id: int, *, message_id: int | None = None
    ) -> StoredFile:
        """One file of record `record_id`'s thread (of message `message_id`, if given), opened.

        NotFound for a file of another record: whoever may see this record sees only its files.
        """
        with self.uow() as uow:
            transitions.get_record(uow.session, record_id)
            return attachments.fetch(uow.session, record_id, attachment_id, message_id)

    def reply(
        self,
        record_id: int,
        text: str,
        *,
        channel: str,
        actor: str,
        subject: str | None = None,
        files: Sequence[Attachment] = (),
    ) -> ThreadMessage:
        """Answer the customer; by email it is queued in the outbox with the reply."""
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            spec = self.specs.get(uow.session, record.pack_version_id)
            with conflict_on_stale(record_id):
                message = thread.reply(
                    uow.session,
                    spec,
                    record,
                    text,
                    channel=channel,
                    actor=actor,
                    now=self.clock.now(),
                    subject=subject,
                    files=files,
                )
                uow.commit()
            return message

    def resend(self, record_id: int, message_id: int, *, actor: str) -> ThreadMessage:
        """Send a failed or bounced email reply again, as a new outbox row (`resend`)."""
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            with conflict_on_stale(record_id):
                message = resend.resend(
                    uow.session, record, message_id, actor=actor, now=self.clock.now()
                )
                uow.commit()
            return message

    def outbox_files(self, outbox_id: int) -> list[StoredFile]:
        """The files a reply's outbox row carries: the email sender's loader."""
        with self.uow() as uow:
            return attachments.outgoing(uow.session, outbox_id)

    def note(
        self, record_id: int, text: str, *, actor: str, files: Sequence[Attachment] = ()
    ) -> ThreadMessage:
        """An internal note on the thread, never sent."""
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            message = thread.add_note(
                uow.session, record, text, actor=actor, now=self.clock.now(), files=files
            )
            uow.commit()
            return message

    def receive(
        self,
        record_id: int,
        text: str,
        *,
        channel: str,
        author: str = "customer",
        subject: str | None = None,
        external_id: str | None = None,
    ) -> ThreadMessage | None:
        """The customer's message joins the thread once; None if it was taken before.

        Two pollers taking one message at once: the unique channel id lets one commit, and
        the other's IntegrityError says it was taken.
        """
        try:
            return self._receive(record_id, text, channel, author, subject, external_id)
        except IntegrityError:
            if external_id is None:
                raise
            return None

    def _receive(
        self,
        record_id: int,
        text: str,
        channel: str,
        author: str,
        subject: str | None,
        external_id: str | None,
    ) -> ThreadMessage | None:
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            spec = self.specs.get(uow.session, record.pack_version_id)
            with conflict_on_stale(record_id):
                message = thread.receive(
                    uow.session,
                    spec,
                    record,
                    text,
                    channel=channel,
                    author=author,
                    now=self.clock.now(),
                    subject=subject,
                    external_id=external_id,
                )
                uow.commit()
            return message

    def take_mail(self, pack: str, channel: str, raw: bytes) -> MailOutcome:
        """One RFC 5322 mail for `pack`: joins its record or makes one (`careloop mail-in`, the
        scheduler's mailboxes). MailUnreadable when it is no mail at all.

        Two pollers taking the same mail at once: one commits, the other finds it taken.
        """
        mail = read_mail(raw)
        try:
            with self.uow() as uow:
                version = self.specs.latest(uow.session, pack)
                outcome = mailintake.take_mail(
                    uow.session,
                    self.specs.get(uow.session, version.id),
                    version,
                    channel,
                    mail,
                    raw,
                    spec_of=lambda record: self.specs.get(uow.session, record.pack_version_id),
                    now=self.clock.now(),
                )
                if outcome.action != "duplicate":  # a record made for a mail taken meanwhile
                    uow.commit()  # is rolled back with it
                return outcome
        except IntegrityError:
            return MailOutcome("duplicate", reason="taken by another process at the same time")

    def take_gateway_message(
        self, pack: str, channel: str, message: GatewayMessage
    ) -> GatewayOutcome:
        """One SMS, WeChat or chat message a gateway pushed for `pack`: joins its record or
        opens one; a repeat of the gateway's id answers with what the first one became.

        Two deliveries of one message at once: one commits, the other finds it taken.
        """
        try:
            with self.uow() as uow:
                version = self.specs.latest(uow.session, pack)
                outcome = gatewayintake.take_message(
                    uow.session,
                    self.specs.get(uow.session, version.id),
                    version,
                    channel,
                    message,
                    spec_of=lambda record: self.specs.get(uow.session, record.pack_version_id),
                    now=self.clock.now(),
                )
                if outcome is not None and outcome.action != "duplicate":
                    uow.commit()
        except IntegrityError:
            earlier = self._taken_before(channel, message.id)
            if earlier is None:
                raise
            return earlier
        return outcome or self._taken_before(channel, message.id) or _lost(channel, message.id)

    def _taken_before(self, channel: str, external_id: str) -> GatewayOutcome | None:
        with self.uow() as uow:
            earlier = gatewayintake.taken(uow.session, channel, external_id)
            if earlier is None:
                return None
            return GatewayOutcome("duplicate", earlier.record_id, earlier.id)

    def take_receipt(self, channel: str, key: str, status: str, reason: str | None) -> None:
        """A gateway's delivery receipt: the message reached the customer, or failed."""
        with self.uow() as uow:
            take_receipt(uow.session, channel, key, status, reason)
            uow.commit()


def _lost(channel: str, external_id: str) -> GatewayOutcome:
    """Taken by another process that then rolled back: the gateway should send it again."""
    raise InvalidInput(
        f"message {external_id} on {channel} was taken and let go meanwhile; send it again",
        fields={"id": "send it again"},
    )
