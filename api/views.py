"""`/api/v1`: records, transitions, notes, customers, orders and the 360° view (R-1.6, R-1.7).

Thin: parse (the schemas), call the engine, present (masking personal data
unless the token has the `personal` scope).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from api import answer_schemas, schemas
from api.auth import current_token, may_see_personal_data, require
from api.idempotent import idempotent
from engine.access.masking import mask_contact, mask_name, masked_fields
from engine.customers import loyalty, profiles
from engine.delivery import webhooks
from engine.delivery.outbound import OutboundPolicy
from engine.errors import InvalidInput, NotFound
from engine.records import followers, queries, tags, versions
from engine.records.intake import NewRecord
from engine.records.personal import all_fields
from engine.specs.pack import PackSpec
from engine.store.models import Article, Customer, Order, Record
from web import DB_ID
from web import current_services as services
from web.markdown import render

blp = Blueprint(
    "api", __name__, url_prefix="/api/v1", description="Records, customers and self-service answers"
)
SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


@blp.route("/records")
class Records(MethodView):
    @blp.doc(security=SECURITY)
    @require("read")
    @blp.arguments(schemas.RecordQuery, location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, schemas.RecordPage)
    def get(self, limit: int, cursor: str | None = None, **filters: Any) -> dict[str, Any]:
        """List records, newest first, a page at a time (`next_cursor`)."""
        wanted = queries.RecordFilter(
            record_type=filters.pop("type", None), is_open=filters.pop("open", None), **filters
        )
        with services().uow() as uow:
            found = queries.list_records(
                uow.session, wanted, limit=limit, before_id=int(cursor) if cursor else None
            )
            items = present_records(uow.session, found)
        more = len(found) == limit
        return {"items": items, "next_cursor": str(found[-1].id) if found and more else None}

    @blp.doc(security=SECURITY)
    @require("write")
    @idempotent
    # An instance, not the class: webargs builds a schema from a class on every request
    # (copying its fields), the busiest endpoint's largest cost outside the intake itself.
    @blp.arguments(schemas.RecordCreate())
    @blp.response(201, schemas.RecordOut)
    @blp.alt_response(200, schema=schemas.RecordOut, description="Already pushed (external_id)")
    def post(self, data: dict[str, Any]) -> Any:
        """Create a record of any published pack; fields are checked against the pack."""
        record, created = services().intake(
            data["pack"],
            NewRecord(
                record_type=data["type"],
                fields=data["fields"],
                channel=data.get("channel"),
                category=data.get("category"),
                priority=data.get("priority"),
                received_at=data.get("received_at"),
                assignee=data.get("assignee"),
                external_id=data.get("external_id"),
            ),
            actor=f"api:{_token_name()}",
        )
        if not created:  # the first push's record, as it is now
            return _record_response(record.id), 200
        return _created_response(record), 201


@blp.route(f"/records/<{DB_ID}:record_id>")
class RecordItem(MethodView):
    @blp.doc(security=SECURITY)
    @require("read")
    @blp.response(200, schemas.RecordOut)
    def get(self, record_id: int) -> dict[str, Any]:
        """One record with its SLA clocks."""
        return _record_response(record_id)


@blp.route(f"/records/<{DB_ID}:record_id>/transitions")
class Transitions(MethodView):
    @blp.doc(security=SECURITY)
    @require("write")
    @idempotent
    @blp.arguments(schemas.TransitionIn)
    @blp.response(200, schemas.RecordOut)
    def post(self, data: dict[str, Any], record_id: int) -> dict[str, Any]:
        """Apply a transition with its form fields; a stale `expected_version` is a 409."""
        services().transition(
            record_id,
            data["transition"],
            data["fields"],
            actor=f"api:{_token_name()}",
            expected_version=data.get("expected_version"),
        )
        return _record_response(record_id)


@blp.route(f"/records/<{DB_ID}:record_id>/notes")
class Notes(MethodView):
    @blp.doc(security=SECURITY)
    @require("write")
    @idempotent
    @blp.arguments(schemas.NoteIn)
    @blp.response(201, schemas.NoteOut)
    def post(self, data: dict[str, Any], record_id: int) -> dict[str, Any]:
        """Add an internal note, or a message from (`message.in`) or to the customer."""
        services().add_note(record_id, data["kind"], data["text"], actor=f"api:{_token_name()}")
        return {"record_id": record_id, "kind": data["kind"]}


@blp.route("/answers")
class Answers(MethodView):
    @blp.doc(security=SECURITY)
    @require("read")
    @blp.arguments(answer_schemas.AnswerQuery, location="query", as_kwargs=True, unknown=RAISE)
    @blp.response(200, answer_schemas.AnswerPage)
    def get(self, q: str, limit: int) -> dict[str, Any]:
        """Self-service answers for chat widgets and bots: the best published articles only."""
        hits = services().answers(q, limit=limit)
        with services().uow() as uow:
            found = {
                a.id: a
                for a in uow.session.scalars(
                    select(Article).where(
                        Article.id.in_([h.ref_id for h in hits]), Article.status == "published"
                    )
                )
            }
            return {
                "query": q,
                "items": [
                    present_answer(found[h.ref_id], h.snippet) for h in hits if h.ref_id in found
                ],
            }


@blp.route("/customers/<string:number>")
class CustomerItem(MethodView):
    @blp.doc(security=SECURITY)
    @require("read")
    @blp.response(200, schemas.CustomerView)
    def get(self, number: str) -> dict[str, Any]:
        """The customer's 360° view: profile, recent records and orders (R-1.7)."""
        with services().uow() as uow:
            customer, found, orders = profiles.customer_view(uow.session, number)
            care = profiles.customer_care(uow.session, customer)
            packs = [services().specs.of(v) for v in versions.latest_versions(uow.session)]
            now = services().clock.now()
            return {
                "customer": present_customer(customer),
                "loyalty": {
                    s.pack: {"points": s.points, "level": s.level}
                    for s in loyalty.standings(uow.session, packs, customer.id, now)
                },
                "ledger": loyalty.entries(uow.session, customer.id),
                "tiers": {t.pack: {"tier": t.tier, "rule": t.rule} for t in care.tiers},
                "records": present_records(uow.session, found),
                "orders": [present_order(o) for o in orders],
            }

    @blp.doc(security=SECURITY)
    @require("write")
    @blp.arguments(schemas.CustomerIn)
    @blp.response(200, schemas.CustomerOut)
    @blp.alt_response(201, schema=schemas.CustomerOut, description="Created")
    def put(self, data: dict[str, Any], number: str) -> Any:
        """Create or update a customer by number (idempotent by nature)."""
        if not 1 <= len(number) <= 64:
            raise InvalidInput(
                "a customer number has 1 to 64 characters", fields={"number": number}
            )
        customer, created = services().save_customer(number, data)
        return present_customer(customer), 201 if created else 200


@blp.route("/customers/<string:number>/orders")
class Orders(MethodView):
    @blp.doc(security=SECURITY)
    @require("write")
    @idempotent
    @blp.arguments(schemas.OrderIn)
    @blp.response(201, schemas.OrderOut)
    @blp.alt_response(200, schema=schemas.OrderOut, description="Already recorded")
    def post(self, data: dict[str, Any], number: str) -> Any:
        """Record a purchase (campaigns use them, R-5.3); a repeated external_id is a no-op."""
        order, created = services().record_order(number, data)
        return present_order(order), 201 if created else 200


@blp.route("/subscriptions")
class Subscriptions(MethodView):
    @blp.doc(security=SECURITY)
    @require("read")
    @blp.response(200, schemas.SubscriptionOut(many=True))
    def get(self) -> list[Any]:
        """This token's webhook subscriptions."""
        with services().uow() as uow:
            return webhooks.subscriptions_of(uow.session, current_token().id)

    @blp.doc(security=SECURITY)
    @require("write")
    @idempotent
    @blp.arguments(schemas.SubscriptionIn)
    @blp.response(201, schemas.SubscriptionCreated)
    def post(self, data: dict[str, Any]) -> Any:
        """Subscribe a URL to record events; the signing secret is in this answer only."""
        with services().uow() as uow:
            subscription = webhooks.subscribe(
                uow.session,
                current_token().id,
                data["url"],
                data["events"],
                services().clock.now(),
                policy=OutboundPolicy.allowing(current_app.config["OUTBOUND_ALLOW"]),
            )
            uow.commit()
            return subscription


@blp.route(f"/subscriptions/<{DB_ID}:subscription_id>")
class SubscriptionItem(MethodView):
    @blp.doc(security=SECURITY)
    @require("write")
    @blp.response(204)
    def delete(self, subscription_id: int) -> None:
        """Stop sending events to this subscription."""
        with services().uow() as uow:
            webhooks.unsubscribe(uow.session, current_token().id, subscription_id)
            uow.commit()


def _token_name() -> str:
    return current_token().name


def _record_response(record_id: int) -> dict[str, Any]:
    with services().uow() as uow:
        record = uow.session.scalars(
            select(Record).where(Record.id == record_id).options(joinedload(Record.customer))
        ).first()
        if record is None:
            raise NotFound(f"record {record_id} does not exist")
        return present_records(uow.session, [record])[0]


def _created_response(record: Record) -> dict[str, Any]:
    """The answer to an intake, from the record as written: reading it back was a fifth of
    an intake's time (issue #24). A new record has no tags and no followers yet."""
    with services().uow() as uow:  # the spec is cached: no statement
        return {**present_record(uow.session, record), "tags": [], "followers": []}


def present_records(session: Session, records: Sequence[Record]) -> list[dict[str, Any]]:
    """The records as the API shows them, their tags and followers read in one query each."""
    ids = [r.id for r in records]
    tagged, following = tags.tags_of(session, ids), followers.usernames_of(session, ids)
    return [
        {**present_record(session, r), "tags": tagged[r.id], "followers": following[r.id]}
        for r in records
    ]


def present_record(session: Any, record: Record) -> dict[str, Any]:
    spec: PackSpec = services().specs.get(session, record.pack_version_id)
    rtype = spec.record_types.get(record.record_type)
    shown = all_fields(record)
    if rtype is not None and not may_see_personal_data():
        shown = masked_fields(rtype, shown)
    return {
        "id": record.id,
        "pack": record.pack,
        "pack_version": services().specs.number(session, record.pack_version_id),
        "record_type": record.record_type,
        "stage": record.stage,
        "stage_kind": record.stage_kind,
        "is_open": record.is_open,
        "priority": record.priority,
        "channel": record.channel,
        "category": record.category,
        "department": record.department,
        "assignee": record.assignee,
        "customer": record.customer.number if record.customer else None,
        "external_id": record.external_id,
        "fields": shown,
        "received_at": _utc(record.received_at),
        "created_at": _utc(record.created_at),
        "updated_at": _utc(record.updated_at),
        "closed_at": _utc(record.closed_at),
        "row_version": record.row_version,
        "sla": [
            {
                "target": c.target,
                "term": c.term,
                "deadline": _utc(c.deadline),
                "warning_at": _utc(c.warning_at),
                "met_at": _utc(c.met_at),
                "breached_at": _utc(c.breached_at),
                "paused": c.running_since is None and c.met_at is None,
            }
            for c in record.clocks
        ],
    }


def _utc(moment: datetime | None) -> datetime | None:
    """In UTC, as the database gives it back: an answer built from what was written (in the
    pack's zone, or the caller's) reads the same as the record read later."""
    return None if moment is None else moment.astimezone(UTC)


def present_answer(article: Article, snippet: str) -> dict[str, Any]:
    return {
        "id": article.id,
        "title": article.title,
        "category": article.category,
        "product": article.product,
        "tags": [t.strip() for t in (article.tags or "").split(",") if t.strip()],
        "version": article.version,
        "snippet": snippet,
        "body": article.body,
        "body_html": str(render(article.body)),
        "updated_at": article.updated_at,
    }


def present_customer(customer: Customer) -> dict[str, Any]:
    personal = may_see_personal_data()
    return {
        "number": customer.number,
        "name": customer.name if personal or not customer.name else mask_name(customer.name),
        "contact": (
            customer.contact if personal or not customer.contact else mask_contact(customer.contact)
        ),
        "contact_failing_at": customer.contact_failing_at,
        "contact_failing_reason": customer.contact_failing_reason,  # addresses masked
        "tier": customer.tier,
        "birthday": customer.birthday if personal or not customer.birthday else None,
        "timezone": customer.timezone,
        "since": customer.since,
        "preferred_channel": customer.preferred_channel,
        "consent_service": customer.consent_service,
        "consent_marketing": customer.consent_marketing,
        "consent_at": customer.consent_at,
        "created_at": customer.created_at,
    }


def present_order(order: Order) -> dict[str, Any]:
    return {
        "external_id": order.external_id,
        "amount": order.amount,
        "currency": order.currency,
        "ordered_at": order.ordered_at,
        "shipped_at": order.shipped_at,
        "items": order.items,
    }
