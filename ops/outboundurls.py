"""The outbound URLs in the settings checked when they are read, not at the first delivery.

CARELOOP_WEBHOOK_URL and each of CARELOOP_GATEWAYS are URLs Careloop posts to; the outbound
policy (`engine/delivery/outbound.py`, issue #22) refuses loopback, private and metadata
addresses unless CARELOOP_OUTBOUND_ALLOW names the host. A refused one used to surface only as
a failed message in the outbox; now the process refuses to start with one line per URL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.delivery.outbound import OutboundPolicy, OutboundRefused
from engine.errors import InvalidInput


def outbound_problems(values: Mapping[str, Any]) -> list[str]:
    """The configured URLs Careloop posts to (the webhook, each gateway), checked against the
    outbound policy at start (issue #22): a loopback, private or metadata address, or
    `localhost`, not in CARELOOP_OUTBOUND_ALLOW is one line here, not a failure at the first
    delivery. Other names are not resolved now: their answer may change, and the check at
    sending (`OutboundPolicy.resolve`) reads the addresses it connects to. Never echoes the URL."""
    policy = OutboundPolicy.allowing(values.get("outbound_allow", ()), _local_names_only)
    urls = [("CARELOOP_WEBHOOK_URL", "the URL", values.get("webhook_url"))]
    urls += [("CARELOOP_GATEWAYS", f"the URL of {c}", u) for c, u in values.get("gateways", ())]
    problems = []
    for variable, which, url in urls:
        try:
            if url:
                policy.check_saved(url)
        except OutboundRefused as exc:
            problems.append(
                f"{variable}: {which} {exc.fields['url']}; if that is meant, allow its host "
                "in CARELOOP_OUTBOUND_ALLOW"
            )
        except InvalidInput:  # the scheme and host were checked when the value was read
            problems.append(f"{variable}: {which} has an invalid port")
    return problems


def _local_names_only(host: str, _port: int) -> list[str]:
    """`localhost` and its subdomains are the loopback (RFC 6761); any other name is left to
    the check at sending."""
    if host == "localhost" or host.endswith(".localhost"):
        return ["127.0.0.1"]
    raise OSError(f"{host} is resolved when a message goes out")
