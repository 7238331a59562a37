"""Use cases of canned responses (issue #21): offer them on a record, keep an agent's own."""

from __future__ import annotations

from typing import Any

from engine.conversation import canned
from engine.conversation.canned import Offered
from engine.records import transitions
from engine.services.base import ServiceBase
from engine.specs.pack import TransitionSpec
from engine.store.models import CannedResponse


class CannedServices(ServiceBase):
    """The reply box's canned texts, rendered for a record, and the page of one's own."""

    def canned_for(self, record_id: int, agent: str, agent_name: str) -> list[Offered]:
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            spec = self.specs.get(uow.session, record.pack_version_id)
            return canned.offered(uow.session, spec, record, agent, agent_name)

    def canned_after_sending(
        self, record_id: int, key: str
    ) -> tuple[TransitionSpec, dict[str, Any]] | None:
        """The pack's canned response `key`, when its transition may be applied to the record."""
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            spec = self.specs.get(uow.session, record.pack_version_id)
            return canned.after_sending(spec, record, key)

    def own_canned(self, owner: str) -> list[CannedResponse]:
        with self.uow() as uow:
            return canned.own(uow.session, owner)

    def get_own_canned(self, owner: str, canned_id: int) -> CannedResponse:
        with self.uow() as uow:
            return canned.get_own(uow.session, owner, canned_id)

    def save_canned(
        self, owner: str, title: str, body: str, canned_id: int | None = None
    ) -> CannedResponse:
        """Add (or change, by id) one of `owner`'s texts, checked as the pack's are."""
        with self.uow() as uow:
            row = canned.save(uow.session, owner, title, body, self.clock.now(), canned_id)
            uow.commit()
            return row

    def delete_canned(self, owner: str, canned_id: int) -> None:
        with self.uow() as uow:
            uow.session.delete(canned.get_own(uow.session, owner, canned_id))
            uow.commit()
