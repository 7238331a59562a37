"""Webhooks and gateways send nowhere inside: loopback, private, link-local, unique-local,
multicast and metadata addresses are refused when a subscription is saved and again after DNS
at sending, unless an operator allows the host by name (issue #22 item 1; R-1.6 webhooks;
ASVS 12.6.1, OWASP SSRF prevention)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from flask import Flask

from engine.access import tokens
from engine.delivery import pinned, webhooks
from engine.delivery.outbound import OutboundPolicy, OutboundRefused, Target
from engine.records.versions import PackSource
from engine.services import Services
from engine.store.models import OutboxMessage
from schedules.senders import SubscriptionSender
from tests.conftest import web_app
from wsgi import services

INSIDE = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:6379/",
    "http://127.1.2.3/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://10.0.0.8/hook",
    "http://172.16.5.4/hook",
    "http://192.168.1.1/hook",
    "http://0.0.0.0:8080/",
    "http://[fd00::1]/hook",
    "http://[fe80::1]/hook",
    "http://224.0.0.1/hook",
    "http://localhost:5000/",
]


NAMES = itertools.count()


@pytest.fixture
def app(tmp_path: Path, after_sales: PackSource) -> Flask:
    return web_app(tmp_path, pack=after_sales)


def bearer(app: Flask) -> dict[str, str]:
    service = services(app)
    with service.uow() as uow:
        name = f"crm{next(NAMES)}"
        _, plain = tokens.issue(uow.session, name, ["read", "write"], service.clock.now())
        uow.commit()
    return {"Authorization": f"Bearer {plain}"}


@pytest.mark.parametrize("url", INSIDE)
def test_a_subscription_to_an_inside_address_is_a_422(app: Flask, url: str) -> None:
    hook = {"url": url, "events": ["record.created"]}
    answer = app.test_client().post("/api/v1/subscriptions", json=hook, headers=bearer(app))
    assert answer.status_code == 422, answer.get_data(as_text=True)
    problem = answer.get_json()
    # The schema's URL check refuses some spellings first; the policy names its setting.
    assert "CARELOOP_OUTBOUND_ALLOW" in problem["detail"] or problem["errors"][0]["path"] == "/url"


def test_an_operator_allows_a_host_by_name(app: Flask) -> None:
    app.config["OUTBOUND_ALLOW"] = ("127.0.0.1",)
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["record.created"]}
    answer = app.test_client().post("/api/v1/subscriptions", json=hook, headers=bearer(app))
    assert answer.status_code == 201
    other = {"url": "http://127.0.0.2:9/hook", "events": ["record.created"]}
    assert (
        app.test_client().post("/api/v1/subscriptions", json=other, headers=bearer(app))
    ).status_code == 422


def test_the_environment_allows_a_host_by_name(
    tmp_path: Path, after_sales: PackSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CARELOOP_OUTBOUND_ALLOW as an operator writes it: once read as one string, so that
    "127.0.0.1,hooks.internal" allowed no host at all."""
    monkeypatch.setenv("CARELOOP_OUTBOUND_ALLOW", "127.0.0.1, hooks.internal")
    app = web_app(tmp_path, pack=after_sales)
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["record.created"]}
    answer = app.test_client().post("/api/v1/subscriptions", json=hook, headers=bearer(app))
    assert answer.status_code == 201, answer.get_data(as_text=True)


def test_a_public_address_is_accepted() -> None:
    OutboundPolicy(resolver=lambda host, port: ["93.184.215.14"]).check_saved(
        "https://hooks.example.com/careloop"
    )


def test_a_name_that_rebinds_to_an_inside_address_is_refused_at_sending() -> None:
    """Saved while it answered a public address; at sending it answers 127.0.0.1."""
    answers = iter([["93.184.215.14"], ["93.184.215.14", "127.0.0.1"]])
    policy = OutboundPolicy(resolver=lambda host, port: next(answers))
    policy.check_saved("http://rebind.example/hook")
    with pytest.raises(OutboundRefused, match="loopback"):
        policy.resolve("http://rebind.example/hook")


class Receiver(BaseHTTPRequestHandler):
    hosts: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.hosts.append(self.headers["Host"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def receiver() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Receiver.hosts = []
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


class Pinned(OutboundPolicy):
    """A policy whose check answered 127.0.0.1 for hook.example (a name no resolver knows)."""

    def resolve(self, url: str) -> Target:
        return Target("hook.example", int(url.rsplit(":", 1)[1].split("/")[0]), "127.0.0.1")


def test_the_connection_goes_to_the_checked_address_with_the_hosts_name(receiver: int) -> None:
    """No second lookup between the check and the connection: `hook.example` does not resolve
    at all, yet the POST reaches the address the policy checked, naming the host."""
    status = pinned.post(f"http://hook.example:{receiver}/x", b"{}", {}, Pinned(), 5.0)
    assert status == 204 and Receiver.hosts == [f"hook.example:{receiver}"]


def test_a_refused_hook_is_not_delivered_and_says_why(services: Services, receiver: int) -> None:
    """A subscription stored before the policy (or allowed then, no longer) is checked again
    at sending: the delivery fails with the reason, nothing reaches the address."""
    with services.uow() as uow:
        token, _ = tokens.issue(uow.session, "crm", ["write"], services.clock.now())
        url = f"http://127.0.0.1:{receiver}/hook"
        allowed = OutboundPolicy.allowing(["127.0.0.1"])
        subscription = webhooks.subscribe(
            uow.session, token.id, url, ["record.created"], services.clock.now(), policy=allowed
        )
        uow.commit()
    message = OutboxMessage(
        channel="hook",
        recipient=str(subscription.id),
        subject="record.created",
        body="",
        payload={"id": "evt_1"},
        created_at=datetime.now().astimezone(),
        status="pending",
        attempts=0,
    )
    sender = SubscriptionSender(lambda _id: (url, "secret"))
    with pytest.raises(OutboundRefused, match="loopback"):
        sender.send(message)
    assert Receiver.hosts == []
    SubscriptionSender(lambda _id: (url, "secret"), policy=allowed).send(message)
    assert Receiver.hosts == [f"127.0.0.1:{receiver}"]
