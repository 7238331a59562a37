"""Use cases of the record page shared by two agents: merging duplicates, seeing who is there.

Both records of a merge are written in one unit of work under their optimistic row versions:
a merge racing with any change of either record is a ConflictError, and nothing of it stays.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.access.users import display_names
from engine.errors import ConflictError
from engine.insight import earlywarning
from engine.records import merge, presence, transitions
from engine.records.merge import Merged
from engine.services.base import ServiceBase, conflict_on_stale


class MergeServices(ServiceBase):
    """Merge a duplicate into the record that stays; report the others on a record's page."""

    def merge_records(
        self,
        record_id: int,
        into: int,
        *,
        actor: str,
        expected: Mapping[int, int] | None = None,
    ) -> Merged:
        """Merge record `record_id` into record `into` (see `records.merge`).

        `expected` maps a record id to the row version its caller saw (the page's form, the
        API's `expected_version`): a record changed since is a ConflictError.
        """
        with self.uow() as uow:
            duplicate = transitions.get_record(uow.session, record_id)
            survivor = transitions.get_record(uow.session, into)
            for record in (duplicate, survivor):
                seen = (expected or {}).get(record.id)
                if seen is not None and record.row_version != seen:
                    raise ConflictError(record.id)
            spec = self.specs.get(uow.session, duplicate.pack_version_id)
            now = self.clock.now()
            with conflict_on_stale(record_id):
                done = merge.merge(uow.session, spec, duplicate, survivor, actor=actor, now=now)
                earlywarning.close_for(uow.session, duplicate, now)
                uow.commit()
            return done

    def viewing(self, record_id: int, username: str) -> list[str]:
        """Stamp `username` on the record's page now; the others there, by display name."""
        with self.uow() as uow:
            others = presence.seen(uow.session, record_id, username, self.clock.now())
            names = display_names(uow.session, others)
            uow.commit()
        return [names.get(name, name) for name in others]
