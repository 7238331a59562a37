"""Use cases of the knowledge base: known problems, suggestions, search, self-service answers."""

from __future__ import annotations

from engine.knowledge import articles, search
from engine.knowledge.search import Hit
from engine.records import transitions
from engine.services.base import ServiceBase, conflict_on_stale
from engine.store.models import KnownProblem


class KnowledgeServices(ServiceBase):
    """The knowledge base as agents, staff and customers use it (R-2.1)."""

    def link_known_problem(self, record_id: int, problem_id: int, *, actor: str) -> KnownProblem:
        """The record is one more instance of a known problem (R-2.1); its count grows (R-4.2)."""
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            problem = articles.link_problem(
                uow.session, record, problem_id, actor=actor, now=self.clock.now()
            )
            with conflict_on_stale(record_id):
                uow.commit()
            return problem

    def suggestions(self, record_id: int, *, limit: int = 5) -> dict[str, list[Hit]]:
        """Triage (R-2.1): the known problems, articles and solved cases most like this record."""
        with self.uow() as uow:
            record = transitions.get_record(uow.session, record_id)
            return articles.suggestions(uow.session, record, limit=limit)

    def knowledge_search(self, question: str, *, limit: int = 10) -> dict[str, list[Hit]]:
        """The knowledge base as staff search it: each kind ranked on its own."""
        with self.uow() as uow:
            return {
                kind: search.search(uow.session, question, kind=kind, limit=limit)
                for kind in search.KINDS
            }

    def answers(self, question: str, *, limit: int = 3) -> list[Hit]:
        """Self-service (S0, S2): the best published articles for a customer's question."""
        with self.uow() as uow:
            return search.search(uow.session, question, kind="article", limit=limit)

    def reindex(self) -> dict[str, int]:
        with self.uow() as uow:
            counts = articles.reindex(uow.session, self.clock.now())
            uow.commit()
            return counts
