"""A shop for the chat box's tests (issue #23): a customer with a phone on file, two orders, the
labelled knowledge base (tests/kb_corpus.py), and the default pack with an order lookup webhook.
"""

from __future__ import annotations

from datetime import timedelta

from engine.customers import profiles
from engine.knowledge import articles, synonyms
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.models import Article
from tests.kb_corpus import ARTICLES, SYNONYMS
from workflows.loader import load_pack_from_files
from workflows.validate import source_of

PHONE = "13812345678"
SHIPPED = "SO20261120001"
PLACED = "SO20261122002"


def seed_shop(services: Services) -> None:
    """Customer C-88 (phone 13812345678) with a shipped and an unshipped order, and the KB."""
    now = services.clock.now()
    with services.uow() as uow:
        profiles.upsert_customer(uow.session, "C-88", {"name": "王芳", "contact": PHONE}, now)
        for number, days, shipped in ((SHIPPED, 3, True), (PLACED, 1, False)):
            ordered = now - timedelta(days=days)
            values = {
                "external_id": number,
                "amount": 199.0,
                "ordered_at": ordered,
                "shipped_at": ordered + timedelta(hours=20) if shipped else None,
            }
            profiles.add_order(uow.session, "C-88", values, now)
        for title, body in ARTICLES.items():
            articles.save_article(
                uow.session,
                Article(title=title, body=body, status="published"),
                actor="ops",
                now=now,
            )
        for words in SYNONYMS:
            synonyms.add_group(uow.session, words, actor="ops", now=now)
        uow.commit()


def with_order_lookup(after_sales: PackSource, url: str) -> PackSource:
    """The default pack whose chat box asks `url` for orders Careloop does not hold."""
    text = after_sales.files["pack.yaml"].replace(
        "  handover: online_chat\n",
        f"  handover: online_chat\n  order_lookup: {{url: '{url}', timeout: 2}}\n",
        1,
    )
    assert text != after_sales.files["pack.yaml"]
    files = {**after_sales.files, "pack.yaml": text}
    return source_of(load_pack_from_files("after_sales", files, "x"))
