"""The pack page's structured forms: what each shows, and how a submitted one edits the YAML.

Each form reads the draft's merged data to show its inputs and, when saved,
turns the submitted values into in-place edits (`workflows.edit`) of the file
that defines them. It also says which data path each input edits, so the
pack's validation errors (which carry data paths) are shown next to the input
that caused them. Forms: `values` (SLA targets, warning thresholds, follow-up
intervals, routing departments, campaign timing, tier numbers), `calendar`,
`routing`, `form` (a transition's form fields) and `choices` (a choice field's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _

from workflows.edit import Path, delete_key, edit_sequence, set_value
from workflows.loader import LoadedPack

BUILT_IN_FIELDS = ("category", "priority", "channel", "department", "assignee")
BLANK_ROWS = 2


@dataclass
class Edit:
    """Files as edited, which input edits which data path, and inputs that could not be read."""

    files: dict[str, str]
    pack: LoadedPack
    where: dict[Path, str] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)

    def set(self, path: Path, value: object) -> None:
        owner = self.pack.owner(path)
        self.files[owner] = set_value(self.files[owner], owner, path, value)

    def delete(self, path: Path) -> None:
        owner = self.pack.owner(path)
        self.files[owner] = delete_key(self.files[owner], owner, path)

    def sequence(self, path: Path, plan: list[object]) -> None:
        owner = self.pack.owner(path)
        self.files[owner] = edit_sequence(self.files[owner], owner, path, plan)

    def merge(self, path: Path, old: Mapping[str, object], new: Mapping[str, object]) -> None:
        """Edit a mapping key by key, so the text of unchanged entries stays as written."""
        for key in old:
            if key not in new:
                self.delete((*path, key))
        for key, value in new.items():
            if key not in old or old[key] != value:
                self.set((*path, key), value)

    def problem(self, name: str, message: str) -> None:
        self.problems.setdefault(name, []).append(message)


def value_key(path: Path) -> str:
    return "v:" + "|".join(map(str, path))


def path_of(name: str) -> Path:
    text = name.split(":", 1)[1]
    return tuple(int(p) if p.isdigit() else p for p in text.split("|"))


def _get(data: Any, path: Path) -> Any:
    for step in path:
        if isinstance(data, dict):
            data = data.get(str(step))
        elif isinstance(data, list) and isinstance(step, int) and step < len(data):
            data = data[step]
        else:
            return None
    return data


def _text(value: object) -> str:
    return "" if value is None else str(value)


# -- what the page shows ---------------------------------------------------------------------


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
                        "value": _text(term.get("within")),
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
    return {"label": label, "key": value_key(path), "value": _text(value), "optional": optional}


def calendar_forms(data: dict[str, Any]) -> list[dict[str, Any]]:
    forms = []
    for cid, calendar in (data.get("calendars") or {}).items():
        hours = list((calendar.get("hours") or {}).items()) + [("", "")] * BLANK_ROWS
        forms.append(
            {
                "id": cid,
                "hours": [{"days": d, "ranges": _text(r)} for d, r in hours],
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
            items = [_form_item(item) for item in transition.get("form") or []]
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
                        "choices": [{"value": v, "label": _text(lb)} for v, lb in choices],
                    }
                )
    return forms


def _form_item(item: object) -> dict[str, Any]:
    if isinstance(item, dict):
        return {"field": item.get("field", ""), "required": bool(item.get("required"))}
    return {"field": str(item), "required": False}


# -- what a save does ------------------------------------------------------------------------


def apply_values(edit: Edit, form: Mapping[str, str], target: str) -> None:
    """Each changed single value is written in place, typed like the value it replaces."""
    data = edit.pack.data
    caps: dict[Path, dict[str, str]] = {}
    for name, raw in form.items():
        if not name.startswith(("v:", "sla:")):
            continue
        path, text = path_of(name), raw.strip()
        edit.where[path] = name
        old = _get(data, path)
        if len(path) == 4 and path[0] == "campaigns" and path[2] == "cap":
            caps.setdefault(path[:3], {})[str(path[3])] = text
            edit.where.setdefault(path[:3], name)
            continue
        if text == _text(old):
            continue
        if not text:
            if old is not None and path[0] == "campaigns":
                edit.delete(path)
            continue  # an SLA or tier value is not removed by leaving it blank
        value = _typed(old, text)
        if value is None:
            edit.problem(name, _("请填写数字。"))
            continue
        edit.set(path, value)
    for path, cap in caps.items():
        old_cap = _get(data, path) or {}
        wanted = {k: v for k, v in cap.items() if v}
        if not wanted:
            if old_cap:
                edit.delete(path)
            continue
        if set(wanted) != {"max", "per"}:
            edit.problem(value_key((*path, "max")), _("频次上限须同时填写次数和期间。"))
            continue
        if not wanted["max"].isdigit():
            edit.problem(value_key((*path, "max")), _("请填写整数。"))
            continue
        new = {"max": int(wanted["max"]), "per": wanted["per"]}
        if new != {k: old_cap.get(k) for k in ("max", "per")}:
            if old_cap:
                edit.merge(path, old_cap, new)
            else:
                edit.set(path, new)


def _typed(old: object, text: str) -> object:
    """`text` as the type of the value it replaces: a tier's 0.9 stays a number."""
    if isinstance(old, bool) or not isinstance(old, (int, float)):
        return text
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if isinstance(old, int) and number.is_integer() else number


def apply_calendar(edit: Edit, form: Mapping[str, str], target: str) -> None:
    """Working hours per weekday range, extra closed and working dates, the holiday country."""
    base: Path = ("calendars", target)
    calendar = _get(edit.pack.data, base)
    if not isinstance(calendar, dict):
        edit.problem("calendar", _("没有这个日历。"))
        return
    edit.where[base] = "calendar"
    edit.where[(*base, "hours")] = "hours:0:days"
    hours: dict[str, str] = {}
    index = 0
    while f"hours:{index}:days" in form:
        days = form[f"hours:{index}:days"].strip().lower()
        ranges = form.get(f"hours:{index}:ranges", "").strip()
        if days:
            edit.where[(*base, "hours", days)] = f"hours:{index}:ranges"
            if not ranges:
                edit.problem(f"hours:{index}:ranges", _("请填写时段，例如 09:00-18:00。"))
            elif days in hours:
                edit.problem(f"hours:{index}:days", _("同一天的范围只能写一次。"))
            hours[days] = ranges
        index += 1
    old_hours = calendar.get("hours") or {}
    if hours != {k: _text(v) for k, v in old_hours.items()} and not edit.problems:
        edit.merge((*base, "hours"), old_hours, hours)
    for kind in ("closed", "working"):
        edit.where[(*base, kind)] = kind
        dates = _dates(edit, kind, form.get(kind, ""))
        old = [str(d) for d in calendar.get(kind) or []]
        if dates is None or [str(d) for d in dates] == old:
            continue
        if dates:
            edit.set((*base, kind), dates)
        else:
            edit.delete((*base, kind))
    country = form.get("country", "").strip().upper()
    edit.where[(*base, "holidays")] = "country"
    holidays = calendar.get("holidays")
    if not country:
        if holidays is not None:
            edit.delete((*base, "holidays"))
    elif holidays is None:
        edit.set((*base, "holidays"), {"country": country})
    elif holidays.get("country") != country:
        edit.set((*base, "holidays", "country"), country)


def _dates(edit: Edit, name: str, text: str) -> list[date] | None:
    found: list[date] = []
    for word in text.replace(",", " ").replace("，", " ").split():
        try:
            day = date.fromisoformat(word)
        except ValueError:
            edit.problem(name, _("不是日期：%(word)s（写作 YYYY-MM-DD）", word=word))
            return None
        if day not in found:
            found.append(day)
    return found


def apply_routing(edit: Edit, form: Mapping[str, str], target: str) -> None:
    """Rules kept, changed, removed, added and put in the order of their numbers."""
    old: list[Any] = _get(edit.pack.data, ("routing",)) or []
    edit.where[("routing",)] = "rule:new:department"
    rows: list[tuple[float, int, object, str]] = []
    for index in [*range(len(old)), -1]:
        prefix = f"rule:{index}" if index >= 0 else "rule:new"
        department = form.get(f"{prefix}:department", "").strip()
        when = form.get(f"{prefix}:when", "").strip()
        if form.get(f"{prefix}:remove") or (index < 0 and not department):
            continue
        order = form.get(f"{prefix}:order", "").strip() or str(len(old) + 1)
        try:
            position = float(order)
        except ValueError:
            edit.problem(f"{prefix}:order", _("请填写数字。"))
            continue
        rule = {"when": when, "department": department} if when else {"department": department}
        entry: object = index if index >= 0 and old[index] == rule else rule
        rows.append((position, index if index >= 0 else len(old), entry, prefix))
    rows.sort(key=lambda row: (row[0], row[1]))
    for new_index, (_pos, _i, _entry, prefix) in enumerate(rows):
        edit.where[("routing", new_index)] = f"{prefix}:when"
        edit.where[("routing", new_index, "when")] = f"{prefix}:when"
        edit.where[("routing", new_index, "department")] = f"{prefix}:department"
    plan = [entry for *_rest, entry, _prefix in rows]
    if plan != list(range(len(old))) and not edit.problems:
        edit.sequence(("routing",), plan)


def apply_form(edit: Edit, form: Mapping[str, str], target: str) -> None:
    """A transition's form fields: kept, made required or not, removed, added, reordered."""
    rtype, _sep, name = target.partition("|")
    path: Path = ("record_types", rtype, "transitions", name, "form")
    transition = _get(edit.pack.data, path[:-1])
    if not isinstance(transition, dict):
        edit.problem("form", _("没有这个步骤。"))
        return
    old = list(transition.get("form") or [])
    edit.where[path[:-1]] = "form"
    edit.where[path] = "f:new:field"
    rows: list[tuple[float, int, object, str]] = []
    for index in [*range(len(old)), -1]:
        prefix = f"f:{index}" if index >= 0 else "f:new"
        chosen = form.get(f"{prefix}:field", "").strip()
        if form.get(f"{prefix}:remove") or not chosen:
            continue
        required = bool(form.get(f"{prefix}:required"))
        order = form.get(f"{prefix}:order", "").strip() or str(len(old) + 1)
        try:
            position = float(order)
        except ValueError:
            edit.problem(f"{prefix}:order", _("请填写数字。"))
            continue
        entry: object
        if index >= 0 and _form_item(old[index]) == {"field": chosen, "required": required}:
            entry = index
        else:
            label = old[index].get("label") if index >= 0 and isinstance(old[index], dict) else None
            entry = {"field": chosen, **({"required": True} if required else {})}
            if label:
                entry = {**entry, "label": label}
        rows.append((position, index if index >= 0 else len(old), entry, prefix))
    rows.sort(key=lambda row: (row[0], row[1]))
    for new_index, (*_rest, prefix) in enumerate(rows):
        edit.where[(*path, new_index)] = f"{prefix}:field"
        edit.where[(*path, new_index, "field")] = f"{prefix}:field"
    plan = [entry for *_rest, entry, _prefix in rows]
    if plan == list(range(len(old))) or edit.problems:
        return
    if not plan and transition.get("form") is not None:
        edit.delete(path)
    elif transition.get("form") is None:
        edit.set(path, plan)
    else:
        edit.sequence(path, plan)


def apply_choices(edit: Edit, form: Mapping[str, str], target: str) -> None:
    """A choice field's stored values and their labels, changed entry by entry."""
    rtype, _sep, name = target.partition("|")
    path: Path = ("record_types", rtype, "fields", name, "choices")
    old = _get(edit.pack.data, path)
    if not isinstance(old, dict):
        edit.problem("choices", _("没有这个选择字段。"))
        return
    edit.where[path] = "c:0:value"
    new: dict[str, str] = {}
    index = 0
    while f"c:{index}:value" in form:
        value = form[f"c:{index}:value"].strip()
        label = form.get(f"c:{index}:label", "").strip()
        if value and not form.get(f"c:{index}:remove"):
            edit.where[(*path, value)] = f"c:{index}:label"
            if not label:
                edit.problem(f"c:{index}:label", _("请填写显示的名称。"))
            elif value in new:
                edit.problem(f"c:{index}:value", _("选项的值不能重复。"))
            new[value] = label
        index += 1
    if new != {k: _text(v) for k, v in old.items()} and not edit.problems:
        edit.merge(path, old, new)


APPLIERS: dict[str, Callable[[Edit, Mapping[str, str], str], None]] = {
    "values": apply_values,
    "calendar": apply_calendar,
    "routing": apply_routing,
    "form": apply_form,
    "choices": apply_choices,
}


def field_of(where: Mapping[Path, str], path: Path) -> str | None:
    """The input whose data path is the longest prefix of an error's path."""
    for end in range(len(path), 0, -1):
        if tuple(path[:end]) in where:
            return where[tuple(path[:end])]
    return None
