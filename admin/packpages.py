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


Row = dict[str, Any]


def value_rows(data: dict[str, Any]) -> dict[str, list[Row]]:
    """Single values by group: SLA, other often-changed values, campaigns, tiers."""
    record_types = (data.get("record_types") or {}).items()
    campaigns = (data.get("campaigns") or {}).items()
    tiers = (data.get("tiers") or {}).items()
    return {
        "sla": [row for tid, rtype in record_types for row in _sla_rows(tid, rtype)],
        "other": [row for tid, rtype in record_types for row in _other_rows(tid, rtype)],
        "care": [row for cid, campaign in campaigns for row in _campaign_rows(cid, campaign)],
        "tiers": [row for tid, tier in tiers for row in _tier_rows(tid, tier)],
    }


def _sla_rows(tid: str, rtype: dict[str, Any]) -> list[Row]:
    """Each term's `within` per target, with the calendar it is counted in: by priority in the
    `policies` form, by the term's name in the `terms` form (R-2.5)."""
    sla = rtype.get("sla") or {}
    base: Path = ("record_types", tid, "sla")
    terms: list[tuple[Path, str, dict[str, Any]]] = [
        ((*base, "policies", priority), priority, dict(targets))
        for priority, targets in (sla.get("policies") or {}).items()
    ]
    terms += [
        ((*base, "terms", i), str(term.get("name") or f"term {i + 1}"), term)
        for i, term in enumerate(sla.get("terms") or [])
    ]
    return [
        {
            "type": tid,
            "priority": name,
            "target": target,
            "calendar": term.get("calendar"),
            "key": value_key((*path, target, "within")),
            "value": input_text(term.get("within")),
            "label": f"{tid} {name} {target}",
        }
        for path, name, targets in terms
        for target, term in targets.items()
        if target not in ("when", "name")
    ]


def _other_rows(tid: str, rtype: dict[str, Any]) -> list[Row]:
    """A record type's SLA warning threshold and each follow-up's interval."""
    rows = []
    rules = rtype.get("sla") or {}
    if "warning" in rules:
        path: Path = ("record_types", tid, "sla", "warning")
        rows.append(_row(_("%(type)s · SLA 预警阈值", type=tid), path, rules["warning"]))
    for name, followup in (rtype.get("followups") or {}).items():
        when = next(k for k in ("every", "after", "before") if k in followup)
        label = _followup_label(tid, followup.get("title", name), when)
        rows.append(_row(label, ("record_types", tid, "followups", name, when), followup[when]))
    return rows


def _followup_label(tid: str, title: str, when: str) -> str:
    """Two whole messages rather than one with a slot, so each translates as a sentence."""
    if when == "every":
        return str(_("%(type)s · 跟进 %(title)s（每隔）", type=tid, title=title))
    if when == "before":
        return str(_("%(type)s · 跟进 %(title)s（截止前）", type=tid, title=title))
    return str(_("%(type)s · 跟进 %(title)s（之后）", type=tid, title=title))


def _campaign_rows(cid: str, campaign: dict[str, Any]) -> list[Row]:
    """The trigger's time or its offset after the event, whichever it uses; quiet hours; cap."""
    title = campaign.get("title", cid)
    trigger = campaign.get("trigger") or {}
    cap = campaign.get("cap") or {}
    base: Path = ("campaigns", cid)
    rows = []
    if trigger.get("on") in ("birthday", "holiday") or "at" in trigger:
        at = (*base, "trigger", "at")
        rows.append(_row(_("%(c)s · 触发时间", c=title), at, trigger.get("at"), True))
    if trigger.get("on") in ("purchase", "shipment", "tier_entered"):
        after = (*base, "trigger", "after")
        rows.append(_row(_("%(c)s · 事件之后", c=title), after, trigger.get("after")))
    quiet = campaign.get("quiet_hours")
    return [
        *rows,
        _row(_("%(c)s · 免打扰时段", c=title), (*base, "quiet_hours"), quiet, True),
        _row(_("%(c)s · 频次上限（次数）", c=title), (*base, "cap", "max"), cap.get("max"), True),
        _row(_("%(c)s · 频次上限（期间）", c=title), (*base, "cap", "per"), cap.get("per"), True),
    ]


def _tier_rows(tid: str, tier: dict[str, Any]) -> list[Row]:
    """Each number or word in a tier's rules (`when` and every `any` rule), bounds included."""
    title = tier.get("title", tid)
    rules: list[tuple[Path, Any]] = [(("tiers", tid, "when"), tier.get("when") or {})]
    rules += [(("tiers", tid, "any", i), r) for i, r in enumerate(tier.get("any") or [])]
    return [
        _row(
            f"{title} · {key}" + (f" {bound}" if bound else ""),
            (*base, key) if bound is None else (*base, key, bound),
            leaf,
        )
        for base, rule in rules
        for key, value in rule.items()
        for bound, leaf in _tier_leaves(value)
    ]


def _tier_leaves(value: object) -> list[tuple[str | None, object]]:
    """A rule's editable values: itself, or each bound of a mapping; flags and lists are not."""
    leaves = value.items() if isinstance(value, dict) else [(None, value)]
    return [
        (bound, leaf)
        for bound, leaf in leaves
        if not isinstance(leaf, bool) and isinstance(leaf, (int, float, str))
    ]


def _row(label: str, path: Path, value: object, optional: bool = False) -> Row:
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
