"""A list edited on the pack page as numbered rows: routing rules, a transition's form fields.

Each old item has a row of inputs named `<prefix>:<index>:…` and one blank row
`<prefix>:new:…` adds an item. A row can be removed (`:remove`), changed or given
another number (`:order`); the list is then rewritten in the order of the
numbers, ties kept in their old order. An unchanged item stays its old index
in the plan, so `workflows.edit.edit_sequence` moves its text (and the comment
lines above it) instead of rewriting it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from admin.packedit import Edit
from workflows.edit import Path


@dataclass(frozen=True)
class ListRow:
    """One row: the prefix of its input names and the item it shows (None for the blank row)."""

    name: str
    old: object
    is_new: bool


@dataclass(frozen=True)
class ListRows:
    """How one kind of list reads its rows.

    :param read: the item a row asks for, or None when the row adds or keeps nothing.
    :param same: whether that item leaves the old one as it was, so its text is kept.
    :param inputs: for each key of an item (None: the item itself), the input that edits it.
    """

    prefix: str
    read: Callable[[Mapping[str, str], ListRow], object | None]
    same: Callable[[Any, object], bool]
    inputs: Mapping[str | None, str]


def list_plan(
    edit: Edit, form: Mapping[str, str], path: Path, old: list[Any], rows: ListRows
) -> list[object]:
    """The `edit_sequence` plan the rows ask for; rows with a bad number become problems."""
    ordered: list[tuple[float, int, object, str]] = []
    for index, row in enumerate(_rows(rows.prefix, old)):
        item = None if form.get(f"{row.name}:remove") else rows.read(form, row)
        position = None if item is None else _position(edit, form, row.name, len(old) + 1)
        if item is None or position is None:
            continue
        entry = index if not row.is_new and rows.same(row.old, item) else item
        ordered.append((position, index, entry, row.name))
    ordered.sort(key=lambda found: (found[0], found[1]))
    _record_inputs(edit, path, [name for *_rest, name in ordered], rows.inputs)
    return [entry for _position, _index, entry, _name in ordered]


def _rows(prefix: str, old: list[Any]) -> list[ListRow]:
    """A row per old item, then the blank row (whose index, len(old), sorts it after ties)."""
    kept = [ListRow(f"{prefix}:{index}", item, False) for index, item in enumerate(old)]
    return [*kept, ListRow(f"{prefix}:new", None, True)]


def _record_inputs(
    edit: Edit, path: Path, names: list[str], inputs: Mapping[str | None, str]
) -> None:
    """Errors about the rewritten list's n-th item belong to the n-th row as ordered."""
    for new_index, name in enumerate(names):
        for key, suffix in inputs.items():
            item_path = (*path, new_index) if key is None else (*path, new_index, key)
            edit.where[item_path] = f"{name}:{suffix}"


def _position(edit: Edit, form: Mapping[str, str], name: str, last: int) -> float | None:
    """A row's number; a blank one puts the row last."""
    order = form.get(f"{name}:order", "").strip() or str(last)
    try:
        return float(order)
    except ValueError:
        edit.problem(f"{name}:order", _("请填写数字。"))
        return None
