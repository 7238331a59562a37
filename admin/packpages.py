"""What the pack page's structured forms show, read from the draft's merged data.

Forms: `values` (SLA targets, warning thresholds, follow-up intervals, campaign
timing, tier numbers), `calendar`, `routing`, `form` (a transition's form
fields) and `choices` (a choice field's). Each input is named so that a save
(`admin.packforms`) knows which data path it edits.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from admin.packedit import input_text, value_key
from workflows.edit import Path

BUILT_IN_FIELDS = ("category", "priority", "channel", "department", "assignee")
BLANK_ROWS = 2


def value_rows(data: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Single values by group: SLA, other often-changed values, campaigns, tiers."""
    sla, other, care, tiers = [], [], [], []
    for tid, rtype in (data.get("record_types") or {}).items():
        rules = rtype.get("sla") or {}
        for priority, terms in (rules.get("policies") or {}).items():
            for target, term in terms.items():
                path: Path = ("record_types", tid, "sla", "policies", priority, target, "within")
                sla.append(
                    {
                        "type": tid,
                        "priority": priority,
                        "target": target,
                        "calendar": term.get("calendar"),
                        "key": value_key(path),
                        "value": input_text(term.get("within")),
                        "label": f"{tid} {priority} {target}",
                    }
                )
        if "warning" in rules:
            path = ("record_types", tid, "sla", "warning")
            label = _("%(type)s · SLA 预警阈值", type=tid)
            other.append(_row(label, path, rules["warning"]))
        for name, followup in (rtype.get("followups") or {}).items():
            when = "every" if "every" in followup else "after"
            title = followup.get("title", name)
            label = (
                _("%(type)s · 跟进 %(title)s（每隔）", type=tid, title=title)
                if when == "every"
                else _("%(type)s · 跟进 %(title)s（之后）", type=tid, title=title)
            )
            other.append(
                _row(label, ("record_types", tid, "followups", name, when), followup[when])
            )
    for cid, campaign in (data.get("campaigns") or {}).items():
        title = campaign.get("title", cid)
        trigger = campaign.get("trigger") or {}
        base: Path = ("campaigns", cid)
        if trigger.get("on") in ("birthday", "holiday") or "at" in trigger:
            care.append(
                _row(
                    _("%(c)s · 触发时间", c=title),
                    (*base, "trigger", "at"),
                    trigger.get("at"),
                    True,
                )
            )
        if trigger.get("on") in ("purchase", "shipment", "tier_entered"):
            care.append(
                _row(
                    _("%(c)s · 事件之后", c=title),
                    (*base, "trigger", "after"),
                    trigger.get("after"),
                )
            )
        care.append(
            _row(
                _("%(c)s · 免打扰时段", c=title),
                (*base, "quiet_hours"),
                campaign.get("quiet_hours"),
                True,
            )
        )
        cap = campaign.get("cap") or {}
        care.append(
            _row(
                _("%(c)s · 频次上限（次数）", c=title), (*base, "cap", "max"), cap.get("max"), True
            )
        )
        care.append(
            _row(
                _("%(c)s · 频次上限（期间）", c=title), (*base, "cap", "per"), cap.get("per"), True
            )
        )
    for tid, tier in (data.get("tiers") or {}).items():
        title = tier.get("title", tid)
        rules = [(("tiers", tid, "when"), tier.get("when") or {})]
        rules += [(("tiers", tid, "any", i), r) for i, r in enumerate(tier.get("any") or [])]
        for base, rule in rules:
            for key, value in rule.items():
                leaves = value.items() if isinstance(value, dict) else [(None, value)]
                for bound, leaf in leaves:
                    if isinstance(leaf, bool) or not isinstance(leaf, (int, float, str)):
                        continue
                    path = (*base, key) if bound is None else (*base, key, bound)
                    label = f"{title} · {key}" + (f" {bound}" if bound else "")
                    tiers.append(_row(label, path, leaf))
    return {"sla": sla, "other": other, "care": care, "tiers": tiers}


def _row(label: str, path: Path, value: object, optional: bool = False) -> dict[str, Any]:
    return {
        "label": label,
        "key": value_key(path),
        "value": input_text(value),
        "optional": optional,
    }


def calendar_forms(data: dict[str, Any]) -> list[dict[str, Any]]:
    forms = []
    for cid, calendar in (data.get("calendars") or {}).items():
        hours = list((calendar.get("hours") or {}).items()) + [("", "")] * BLANK_ROWS
        forms.append(
            {
                "id": cid,
                "hours": [{"days": d, "ranges": input_text(r)} for d, r in hours],
                "closed": "\n".join(map(str, calendar.get("closed") or [])),
                "working": "\n".join(map(str, calendar.get("working") or [])),
                "country": (calendar.get("holidays") or {}).get("country", ""),
            }
        )
    return forms


def routing_form(data: dict[str, Any]) -> dict[str, Any]:
    rules = [
        {"when": rule.get("when", ""), "department": rule.get("department", "")}
        for rule in data.get("routing") or []
    ]
    return {"rules": rules, "departments": list(data.get("departments") or {})}


def transition_forms(data: dict[str, Any]) -> list[dict[str, Any]]:
    forms = []
    for tid, rtype in (data.get("record_types") or {}).items():
        fields = list(rtype.get("fields") or {})
        for name, transition in (rtype.get("transitions") or {}).items():
            items = [form_item(item) for item in transition.get("form") or []]
            forms.append(
                {
                    "target": f"{tid}|{name}",
                    "title": f"{tid} · {transition.get('title', name)}",
                    "entries": items,
                    "fields": fields + [f for f in BUILT_IN_FIELDS if f not in fields],
                }
            )
    return forms


def choice_forms(data: dict[str, Any]) -> list[dict[str, Any]]:
    forms = []
    for tid, rtype in (data.get("record_types") or {}).items():
        for name, spec in (rtype.get("fields") or {}).items():
            if spec.get("type") == "choice":
                choices = list((spec.get("choices") or {}).items()) + [("", "")] * BLANK_ROWS
                forms.append(
                    {
                        "target": f"{tid}|{name}",
                        "title": f"{tid} · {spec.get('label', name)}",
                        "choices": [{"value": v, "label": input_text(lb)} for v, lb in choices],
                    }
                )
    return forms


def form_item(item: object) -> dict[str, Any]:
    """A transition's form entry, a bare field name or a mapping, as the page shows it."""
    if isinstance(item, dict):
        return {"field": item.get("field", ""), "required": bool(item.get("required"))}
    return {"field": str(item), "required": False}
