"""Use cases of the customer's chat box (issue #23): answer a question, count a vote, hand over."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine import bounds
from engine.delivery.outbound import OutboundPolicy
from engine.errors import InvalidInput, NotFound
from engine.records import versions
from engine.selfservice import handover, instant, orderhook
from engine.selfservice.handover import Handover
from engine.selfservice.instant import Reply
from engine.selfservice.outcomes import Kind, record_outcome
from engine.services.base import ServiceBase
from engine.specs.instant import InstantAnswersSpec
from engine.specs.pack import PackSpec
from engine.store.models import Article, Record


class SelfServiceServices(ServiceBase):
    """The chat box as the portal calls it; each answer in its own short unit of work."""

    def chat_pack(self, pack: str) -> PackSpec:
        """The pack's newest spec when it offers a chat box; NotFound otherwise."""
        with self.uow() as uow:
            spec = self.latest_spec(uow.session, pack)
        if spec.instant_answers is None:
            raise NotFound(f"pack '{pack}' offers no chat box (add instant_answers)")
        return spec

    def chat_answer(self, pack: str, question: str, *, policy: OutboundPolicy) -> Reply:
        """Articles, an order's status or "no answer" for one question (S0 7×24).

        The pack's order lookup is asked after the unit of work closed: no transaction waits
        on another system's answer.
        """
        text = _question(question)
        spec = _instant(self.chat_pack(pack))
        with self.uow() as uow:
            reply = instant.answer(uow.session, spec, text)
        lookup = spec.order_lookup
        if reply.kind != "order_not_found" or lookup is None:
            return reply
        assert reply.query.order is not None and reply.query.phone is not None
        found = orderhook.ask(lookup, reply.query.order, reply.query.phone, policy=policy)
        return reply if found is None else Reply("order", reply.query, order=found)

    def chat_vote(self, pack: str, article_id: int, question: str, *, helpful: bool) -> None:
        """The customer says an article helped (answered without a record, and a helpful
        vote) or did not (an unhelpful vote; the box then offers a person)."""
        text = _question(question)
        self.chat_pack(pack)
        if not bounds.in_range_id(article_id):  # PostgreSQL refuses to compare past INTEGER: a 500
            raise NotFound(f"article {article_id} is not a published article")
        with self.uow() as uow:
            published = uow.session.scalar(
                select(Article.id).where(Article.id == article_id, Article.status == "published")
            )
            if published is None:
                raise NotFound(f"article {article_id} is not a published article")
            now = self.clock.now()
            kinds: tuple[Kind, ...] = ("answered", "helpful") if helpful else ("unhelpful",)
            for kind in kinds:
                record_outcome(
                    uow.session,
                    kind=kind,
                    source="chat",
                    at=now,
                    pack=pack,
                    article_id=article_id,
                    query=text,
                )
            uow.commit()

    def chat_hand_over(self, pack: str, chat: Handover) -> tuple[Record, bool]:
        """The record a chat became (False: that chat was handed over before).

        A customer new to Careloop who clicks twice at once makes two first contacts: the
        second commit conflicts (the customer's number, the chat's external id) and runs again,
        now finding what the first made, as `intake` does.
        """
        handover.check(chat)
        for attempt in range(2):
            with self.uow() as uow:
                version = versions.latest_version(uow.session, pack)
                spec = self.specs.of(version)
                _instant(spec)
                try:
                    record, made = handover.hand_over(
                        uow.session, spec, version, chat, now=self.clock.now()
                    )
                    uow.commit()
                except IntegrityError:
                    uow.rollback()
                    if attempt:
                        raise
                    continue
                return record, made
        raise AssertionError("unreachable: the second attempt returns or raises")


def _instant(spec: PackSpec) -> InstantAnswersSpec:
    if spec.instant_answers is None:
        raise NotFound(f"pack '{spec.name}' offers no chat box (add instant_answers)")
    return spec.instant_answers


def _question(question: str) -> str:
    text = bounds.check_text(question, "question").strip()
    if not text or len(text) > instant.MAX_QUESTION:
        raise InvalidInput(
            f"a question of 1–{instant.MAX_QUESTION} characters",
            fields={"question": "empty or too long"},
        )
    return text
