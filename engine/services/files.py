"""Use cases of a record's own files (issue #21, item 3): attach, list, open."""

from __future__ import annotations

from engine.files import blobs, checks, records
from engine.files.records import OpenedFile
from engine.records import transitions
from engine.services.base import ServiceBase
from engine.store.models import RecordAttachment


class FileServices(ServiceBase):
    """A record's files, in the disk store the process was configured with (`blobs`)."""

    def attach_file(
        self, record_id: int, filename: str, declared_type: str, data: bytes, *, actor: str
    ) -> RecordAttachment:
        """Check `data` by its content and attach it; InvalidInput (FileTooLarge) says why not."""
        store = blobs.current()
        checked = checks.check(filename, declared_type, data, store.max_bytes)
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            row = records.attach(
                uow.session, store, record, checked, actor=actor, now=self.clock.now()
            )
            uow.commit()
            return row

    def record_files(self, record_id: int) -> list[RecordAttachment]:
        with self.uow() as uow:
            transitions.get_record(uow.session, record_id)
            return records.listed(uow.session, record_id)

    def record_file(
        self, record_id: int, attachment_id: int, *, preview: bool = False
    ) -> OpenedFile:
        """One file of the record (or its picture's preview), opened; NotFound for another's."""
        with self.uow() as uow:
            return records.opened(
                uow.session, blobs.current(), record_id, attachment_id, preview=preview
            )
