"""What a save of one of the pack page's structured forms does to the draft's YAML.

Each applier reads the submitted values of its form (`values`, `calendar`,
`routing`, `form`, `choices`; see `admin.packpages` for what they show), turns
what changed into in-place edits of the file that defines it and records which
input edits which data path, so validation errors land next to their input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from flask_babel import gettext as _

from admin.packedit import Edit, input_text, path_of, value_at, value_key
from admin.packpages import form_item
from workflows.edit import Path


def apply_values(edit: Edit, form: Mapping[str, str], target: str) -> None:
    """Each changed single value is written in place, typed like the value it replaces."""
    data = edit.pack.data
    caps: dict[Path, dict[str, str]] = {}
    for name, raw in form.items():
        if not name.startswith(("v:", "sla:")):
            continue
        path, text = path_of(name), raw.strip()
        edit.where[path] = name
        old = value_at(data, path)
        if len(path) == 4 and path[0] == "campaigns" and path[2] == "cap":
            caps.setdefault(path[:3], {})[str(path[3])] = text
            edit.where.setdefault(path[:3], name)
            continue
        if text == input_text(old):
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
        old_cap = value_at(data, path) or {}
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
    calendar = value_at(edit.pack.data, base)
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
    if hours != {k: input_text(v) for k, v in old_hours.items()} and not edit.problems:
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
    old: list[Any] = value_at(edit.pack.data, ("routing",)) or []
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
    transition = value_at(edit.pack.data, path[:-1])
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
        if index >= 0 and form_item(old[index]) == {"field": chosen, "required": required}:
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
    old = value_at(edit.pack.data, path)
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
    if new != {k: input_text(v) for k, v in old.items()} and not edit.problems:
        edit.merge(path, old, new)


APPLIERS: dict[str, Callable[[Edit, Mapping[str, str], str], None]] = {
    "values": apply_values,
    "calendar": apply_calendar,
    "routing": apply_routing,
    "form": apply_form,
    "choices": apply_choices,
}
