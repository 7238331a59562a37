"""Use cases of a record's thread: read it, answer the customer, note, take their message in,
open one of its files."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError

from engine.conversation import attachments, mailintake, resend, thread
from engine.conversation.attachments import StoredFile
from engine.conversation.mail import Attachment, read_mail
from engine.conversation.mailintake import MailOutcome
from engine.records import transitions
from engine.records.versions import latest_version
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
                version = latest_version(uow.session, pack)
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
