"""Use cases of the customer portal (issue #23): help pages, the web form, the tracking page.

Each is one unit of work, as everywhere: the web face calls these and never the store. The
outcomes a service manager is judged on (answered without a record, votes, hand-overs) are
written here with `engine.selfservice.outcomes`, in the same transaction as what caused them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.conversation import thread
from engine.conversation.mail import Attachment
from engine.knowledge.search import Hit
from engine.records import transitions, versions
from engine.selfservice import helpcenter, tracking, webform
from engine.selfservice.outcomes import Kind, Source, record_outcome
from engine.services.base import ServiceBase, conflict_on_stale
from engine.specs.pack import PackSpec
from engine.specs.portal import PortalSpec
from engine.store.models import Article, Record


class PortalServices(ServiceBase):
    """What a customer without an account does: read, ask, track, answer (issue #23)."""

    def portal(self, pack: str) -> tuple[PackSpec, PortalSpec]:
        """The pack's newest spec and its portal; NotFound for an unknown pack or no portal."""
        with self.uow() as uow:
            spec = self.latest_spec(uow.session, pack)
            return spec, webform.portal_of(spec)

    def help_index(
        self, category: str | None, page: int = 1
    ) -> tuple[list[helpcenter.Category], list[Article]]:
        with self.uow() as uow:
            session = uow.session
            return helpcenter.categories(session), helpcenter.articles(session, category, page=page)

    def help_article(self, article_id: int) -> Article:
        with self.uow() as uow:
            return helpcenter.published(uow.session, article_id)

    def help_find(self, question: str, *, limit: int = 10) -> list[Hit]:
        with self.uow() as uow:
            return helpcenter.find(uow.session, question, limit=limit)

    def self_service(
        self,
        kind: Kind,
        source: Source,
        pack: str,
        *,
        article_id: int | None = None,
        query: str | None = None,
    ) -> None:
        """Count an outcome: an answered question, a vote (the article must be published)."""
        with self.uow() as uow:
            if article_id is not None:
                helpcenter.published(uow.session, article_id)
            record_outcome(
                uow.session,
                kind=kind,
                source=source,
                at=self.clock.now(),
                pack=pack,
                article_id=article_id,
                query=query,
            )
            uow.commit()

    def submit_form(
        self, pack: str, values: Mapping[str, Any], files: Sequence[Attachment]
    ) -> Record:
        """A web form becomes a record on the pack's web channel, counted as handed over."""
        with self.uow() as uow:
            version = versions.latest_version(uow.session, pack)
            spec = self.specs.of(version)
            record = webform.submit(uow.session, spec, version, values, files, now=self.clock.now())
            uow.commit()
            return record

    def pack_of_record(self, record_id: int) -> str:
        """The pack a record belongs to (a link of one shop's portal opens none of another's)."""
        with self.uow() as uow:
            return transitions.get_record(uow.session, record_id).pack

    def tracking_view(self, record_id: int) -> tracking.CustomerView:
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            spec = self.specs.get(uow.session, record.pack_version_id)
            return tracking.view(uow.session, spec, record)

    def customer_reply(self, record_id: int, text: str, files: Sequence[Attachment] = ()) -> None:
        """The customer's message from the tracking page joins the thread like a mail would,
        taking the record back from waiting on them."""
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            spec = self.specs.get(uow.session, record.pack_version_id)
            channel = spec.portal.channel if spec.portal is not None else "web"
            with conflict_on_stale(record_id):
                thread.receive(
                    uow.session,
                    spec,
                    record,
                    text,
                    channel=channel,
                    author="customer",
                    now=self.clock.now(),
                    files=files,
                )
                uow.commit()

    def confirm_solution(self, record_id: int) -> bool:
        """The customer confirms the solution (R-3.2); False when they had already."""
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            with conflict_on_stale(record_id):
                done = tracking.confirm(uow.session, record, self.clock.now())
                uow.commit()
            return done

    def find_own_record(self, pack: str, record_id: int, contact: str) -> int | None:
        """The record a reference and the contact on file name together, else None."""
        with self.uow() as uow:
            record = tracking.find_own(uow.session, pack, record_id, contact)
            return None if record is None else record.id
