"""How a customer's care reads on the desk: campaign titles, outcomes and history in words.

The store keeps keys (`birthday`, `capped`, `tier`, `withdrawn`) because campaigns, audits and
exports match on them; an agent reads the pack's titles and the catalog's words instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.customers.campaigns import all_campaigns
from engine.specs.pack import PackSpec
from engine.store.models import CustomerEvent

OUTCOMES = {
    "queued": _l("已排队发送"),
    "task": _l("已建任务"),
    "missed": _l("错过时机"),
    "capped": _l("超出频次上限"),
    "pending": _l("待发送"),
    "done": _l("已完成"),
    "no_consent": _l("未获同意"),
}
CONSENTS = {"service": _l("服务消息"), "marketing": _l("营销消息")}
CONSENT_CHANGES = {"granted": _l("同意"), "withdrawn": _l("撤回同意")}


def campaign_titles(specs: Iterable[PackSpec]) -> dict[str, str]:
    """Each campaign key the packs run with its title (生日祝福, not birthday_greeting), the
    tiers' onboarding tasks included (`tier_potential` reads as the tier's title)."""
    return {key: c.title for spec in specs for key, c in all_campaigns(spec).items()}


def outcome(status: str) -> str:
    return str(OUTCOMES.get(status, status))


def history_line(event: CustomerEvent, tiers: dict[str, str], packs: dict[str, str]) -> str:
    """One line of the customer's history: 客户等级（售后服务）：普通客户 → 高价值客户."""
    if event.kind == "consent":
        what = str(CONSENTS.get(event.old_value or "", event.old_value or ""))
        change = str(CONSENT_CHANGES.get(event.new_value or "", event.new_value or ""))
        return str(_("%(what)s：%(change)s", what=what, change=change))
    if event.kind == "tier":
        return str(
            _(
                "客户等级（%(pack)s）：%(old)s → %(new)s",
                pack=packs.get(event.pack or "", event.pack or ""),
                old=tiers.get(event.old_value or "", event.old_value or "—"),
                new=tiers.get(event.new_value or "", event.new_value or "—"),
            )
        )
    return f"{event.kind}: {event.old_value or '—'} → {event.new_value or '—'}"
