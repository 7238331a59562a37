"""What a save of one of the pack page's structured forms does to the draft's YAML.

Each applier reads the submitted values of its form (`values`, `calendar`,
`routing`, `form`, `choices`; see `admin.packpages` for what they show), turns
what changed into in-place edits of the file that defines it and records which
input edits which data path, so validation errors land next to their input.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any

from flask_babel import gettext as _

from admin.packedit import Edit, input_text, path_of, value_at, value_key
from admin.packlists import ListRow, ListRows, list_plan
from admin.packpages import form_item
from workflows.edit import Path

Form = Mapping[str, str]


# -- values: single values anywhere in the pack ----------------------------------------------


def apply_values(edit: Edit, form: Form, target: str) -> None:
    """Each changed single value is written in place, typed like the value it replaces."""
    caps: dict[Path, dict[str, str]] = {}
    for name, raw in form.items():
        if not name.startswith(("v:", "sla:")):
            continue
        path, text = path_of(name), raw.strip()
        edit.where[path] = name
        if _is_cap_part(path):
            caps.setdefault(path[:3], {})[str(path[3])] = text
            edit.where.setdefault(path[:3], name)
        else:
            _apply_value(edit, name, path, text)
    for path, cap in caps.items():
        _apply_cap(edit, path, cap)


def _is_cap_part(path: Path) -> bool:
    """A campaign cap's `max` or `per`: the two are saved together, as one mapping."""
    return len(path) == 4 and path[0] == "campaigns" and path[2] == "cap"


def _apply_value(edit: Edit, name: str, path: Path, text: str) -> None:
    old = value_at(edit.pack.data, path)
    if text == input_text(old):
        return
    if not text:
        if old is not None and path[0] == "campaigns":
            edit.delete(path)
        return  # an SLA or tier value is not removed by leaving it blank
    value = _typed(old, text)
    if value is None:
        edit.problem(name, _("请填写数字。"))
    else:
        edit.set(path, value)


def _typed(old: object, text: str) -> object:
    """`text` as the type of the value it replaces: a tier's 0.9 stays a number."""
    if isinstance(old, bool) or not isinstance(old, (int, float)):
        return text
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if isinstance(old, int) and number.is_integer() else number


def _apply_cap(edit: Edit, path: Path, cap: dict[str, str]) -> None:
    """A frequency cap needs both its count and its period; leaving both blank removes it."""
    old_cap = value_at(edit.pack.data, path) or {}
    wanted = {k: v for k, v in cap.items() if v}
    if not wanted:
        if old_cap:
            edit.delete(path)
        return
    if set(wanted) != {"max", "per"}:
        edit.problem(value_key((*path, "max")), _("频次上限须同时填写次数和期间。"))
        return
    if not wanted["max"].isdigit():
        edit.problem(value_key((*path, "max")), _("请填写整数。"))
        return
    new = {"max": int(wanted["max"]), "per": wanted["per"]}
    if new == {k: old_cap.get(k) for k in ("max", "per")}:
        return
    if old_cap:
        edit.merge(path, old_cap, new)
    else:
        edit.set(path, new)


# -- calendar ------------------------------------------------------------------------------


def apply_calendar(edit: Edit, form: Form, target: str) -> None:
    """Working hours per weekday range, extra closed and working dates, the holiday country."""
    base: Path = ("calendars", target)
    calendar = value_at(edit.pack.data, base)
    if not isinstance(calendar, dict):
        edit.problem("calendar", _("没有这个日历。"))
        return
    edit.where[base] = "calendar"
    _apply_hours(edit, form, base, calendar)
    for kind in ("closed", "working"):
        _apply_dates(edit, form, (*base, kind), calendar.get(kind))
    _apply_country(edit, form, base, calendar.get("holidays"))


def _apply_hours(edit: Edit, form: Form, base: Path, calendar: dict[str, Any]) -> None:
    """The rows `hours:<n>:days` / `hours:<n>:ranges`; a weekday range may appear once."""
    edit.where[(*base, "hours")] = "hours:0:days"
    hours: dict[str, str] = {}
    for index in _row_numbers(form, "hours", "days"):
        days = form[f"hours:{index}:days"].strip().lower()
        ranges = form.get(f"hours:{index}:ranges", "").strip()
        if days:
            edit.where[(*base, "hours", days)] = f"hours:{index}:ranges"
            if not ranges:
                edit.problem(f"hours:{index}:ranges", _("请填写时段，例如 09:00-18:00。"))
            elif days in hours:
                edit.problem(f"hours:{index}:days", _("同一天的范围只能写一次。"))
            hours[days] = ranges
    old_hours = calendar.get("hours") or {}
    if hours != {k: input_text(v) for k, v in old_hours.items()} and not edit.problems:
        edit.merge((*base, "hours"), old_hours, hours)


def _apply_dates(edit: Edit, form: Form, path: Path, old: list[object] | None) -> None:
    """Extra closed or working dates; none left removes the key."""
    kind = str(path[-1])
    edit.where[path] = kind
    dates = _dates(edit, kind, form.get(kind, ""))
    if dates is None or [str(d) for d in dates] == [str(d) for d in old or []]:
        return
    if dates:
        edit.set(path, dates)
    else:
        edit.delete(path)


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


def _apply_country(edit: Edit, form: Form, base: Path, holidays: dict[str, Any] | None) -> None:
    """The public-holiday country; blank removes the `holidays` mapping."""
    country = form.get("country", "").strip().upper()
    edit.where[(*base, "holidays")] = "country"
    if not country:
        if holidays is not None:
            edit.delete((*base, "holidays"))
    elif holidays is None:
        edit.set((*base, "holidays"), {"country": country})
    elif holidays.get("country") != country:
        edit.set((*base, "holidays", "country"), country)


# -- routing and a transition's form: lists of numbered rows --------------------------------


def _routing_rule(form: Form, row: ListRow) -> object | None:
    """A rule without a department is dropped only from the blank row: an old one must be fixed."""
    department = form.get(f"{row.name}:department", "").strip()
    when = form.get(f"{row.name}:when", "").strip()
    if row.is_new and not department:
        return None
    return {"when": when, "department": department} if when else {"department": department}


def _form_entry(form: Form, row: ListRow) -> object | None:
    """A form entry, keeping the label the YAML gave it; clearing its field removes it."""
    chosen = form.get(f"{row.name}:field", "").strip()
    if not chosen:
        return None
    entry = {"field": chosen, **({"required": True} if form.get(f"{row.name}:required") else {})}
    label = row.old.get("label") if isinstance(row.old, dict) else None
    return {**entry, "label": label} if label else entry


ROUTING_RULES = ListRows(
    prefix="rule",
    read=_routing_rule,
    same=lambda old, new: bool(old == new),
    inputs={None: "when", "when": "when", "department": "department"},
)
FORM_ENTRIES = ListRows(
    prefix="f",
    read=_form_entry,
    same=lambda old, new: form_item(old) == form_item(new),
    inputs={None: "field", "field": "field"},
)


def apply_routing(edit: Edit, form: Form, target: str) -> None:
    """Rules kept, changed, removed, added and put in the order of their numbers."""
    path: Path = ("routing",)
    old: list[Any] = value_at(edit.pack.data, path) or []
    edit.where[path] = "rule:new:department"
    plan = list_plan(edit, form, path, old, ROUTING_RULES)
    if plan != list(range(len(old))) and not edit.problems:
        edit.sequence(path, plan)


def apply_form(edit: Edit, form: Form, target: str) -> None:
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
    plan = list_plan(edit, form, path, old, FORM_ENTRIES)
    if plan == list(range(len(old))) or edit.problems:
        return
    if not plan and transition.get("form") is not None:
        edit.delete(path)
    elif transition.get("form") is None:
        edit.set(path, plan)
    else:
        edit.sequence(path, plan)


# -- choices -------------------------------------------------------------------------------


def apply_choices(edit: Edit, form: Form, target: str) -> None:
    """A choice field's stored values and their labels, changed entry by entry."""
    rtype, _sep, name = target.partition("|")
    path: Path = ("record_types", rtype, "fields", name, "choices")
    old = value_at(edit.pack.data, path)
    if not isinstance(old, dict):
        edit.problem("choices", _("没有这个选择字段。"))
        return
    edit.where[path] = "c:0:value"
    new: dict[str, str] = {}
    for index in _row_numbers(form, "c", "value"):
        value = form[f"c:{index}:value"].strip()
        label = form.get(f"c:{index}:label", "").strip()
        if value and not form.get(f"c:{index}:remove"):
            edit.where[(*path, value)] = f"c:{index}:label"
            if not label:
                edit.problem(f"c:{index}:label", _("请填写显示的名称。"))
            elif value in new:
                edit.problem(f"c:{index}:value", _("选项的值不能重复。"))
            new[value] = label
    if new != {k: input_text(v) for k, v in old.items()} and not edit.problems:
        edit.merge(path, old, new)


def _row_numbers(form: Form, prefix: str, key: str) -> Iterator[int]:
    """0, 1, 2, … while the form has `<prefix>:<n>:<key>`: the page's rows of one mapping."""
    index = 0
    while f"{prefix}:{index}:{key}" in form:
        yield index
        index += 1


APPLIERS: dict[str, Callable[[Edit, Form, str], None]] = {
    "values": apply_values,
    "calendar": apply_calendar,
    "routing": apply_routing,
    "form": apply_form,
    "choices": apply_choices,
}
