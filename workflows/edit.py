"""Change a pack's YAML in place, keeping every comment and the layout around what changed.

The structured forms of the admin edit this way, so a person who changes
"P1 resolve in 3 working days" to 2, adds a closed date or reorders routing
rules leaves the file as readable as it was. PyYAML's composed nodes carry
the character offsets of every value; an edit replaces, inserts or removes
exactly the text of the values it changes. Unchanged list items are moved as
their own text (comments above an item travel with it); a changed item or
value is written in the style it had (flow `{...}`/`[...]` or block lines).
"""

from __future__ import annotations

from typing import TypeGuard

import yaml
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode

from workflows.errors import PackError, PackInvalid
from workflows.yamlmarks import BoundedLoader

Path = tuple[str | int, ...]
# A sequence edit: an int keeps that old item's text, anything else is a new item's value.
Keep = int


def set_value(text: str, file: str, path: Path, value: object) -> str:
    """`text` with the value at `path` set to `value`; a missing last key joins its mapping."""
    root = _compose(text, file)
    parent = _find(root, path[:-1], file)
    node = _child(parent, path[-1])
    if node is not None:
        return _replace(text, node, value)
    if not isinstance(parent, MappingNode):
        raise PackInvalid([_error(file, parent, path, "not a mapping of keys")])
    return _insert_key(text, parent, str(path[-1]), value)


def delete_key(text: str, file: str, path: Path) -> str:
    """`text` without the key at `path` (and its value); nothing to do when it is not there."""
    parent = _find(_compose(text, file), path[:-1], file)
    if not isinstance(parent, MappingNode):
        raise PackInvalid([_error(file, parent, path, "not a mapping of keys")])
    pairs = [(k, v) for k, v in parent.value if k.value == str(path[-1])]
    if not pairs:
        return text
    if parent.flow_style:
        data = {k.value: _data(text, v) for k, v in parent.value if k.value != str(path[-1])}
        return _replace(text, parent, data)
    key, value = pairs[0]
    start = _line_start(text, key.start_mark.index)
    return text[:start] + text[_line_end(text, _end(value)) :]


def edit_sequence(text: str, file: str, path: Path, plan: list[object]) -> str:
    """Rewrite the list at `path` as `plan`: `Keep` ints are old items, other entries new values.

    In a block list each kept item moves with its own lines, the comment lines above
    it included; new items take the indentation and style of the list's items.
    """
    node = _find(_compose(text, file), path, file)
    if not isinstance(node, SequenceNode):
        raise PackInvalid([_error(file, node, path, "not a list")])
    _check_kept(file, node, path, plan)
    items = node.value
    if node.flow_style or not items or not plan:
        return _replace(text, node, [_data(text, items[e]) if _is_keep(e) else e for e in plan])
    kept = [e for e in plan if _is_keep(e)]
    if kept == list(range(len(items))) and len(plan) == len(items):
        return text
    return _rewrite_block_items(text, items, plan)


def _check_kept(file: str, node: SequenceNode, path: Path, plan: list[object]) -> None:
    """Each kept index must name an item of the list."""
    for entry in plan:
        if _is_keep(entry) and not 0 <= entry < len(node.value):
            raise PackInvalid([_error(file, node, path, f"no item {entry} in this list")])


def _rewrite_block_items(text: str, items: list[Node], plan: list[object]) -> str:
    """A block list as `plan`: kept items as their own lines, new ones in the items' style."""
    chunks = _item_chunks(text, items)
    column = _dash_column(text, items[0])
    block = isinstance(items[0], MappingNode) and not items[0].flow_style
    joined = "".join(
        _whole_lines(chunks[entry]) if _is_keep(entry) else _item(entry, column, block)
        for entry in plan
    )
    start = _line_start(text, items[0].start_mark.index)
    end = _line_end(text, _end(items[-1]))
    if end == len(text) and not text.endswith("\n"):
        joined = joined.removesuffix("\n")
    return text[:start] + joined + text[end:]


def _item_chunks(text: str, items: list[Node]) -> list[str]:
    """Each item's lines, from where the previous item ends: comments above an item are its own."""
    begins = [_line_start(text, items[0].start_mark.index)]
    begins += [_line_end(text, _end(item)) for item in items[:-1]]
    return [
        text[begin : _line_end(text, _end(item))] for begin, item in zip(begins, items, strict=True)
    ]


def _whole_lines(chunk: str) -> str:
    """The last item of a file without a final newline gets one when it moves up."""
    return chunk if chunk.endswith("\n") else chunk + "\n"


def _is_keep(entry: object) -> TypeGuard[Keep]:
    return isinstance(entry, int) and not isinstance(entry, bool)


def _compose(text: str, file: str) -> Node:
    try:
        node = yaml.compose(text, Loader=BoundedLoader)  # no nesting past the bound
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = "invalid YAML: fix it in the YAML editor first"
        raise PackInvalid([PackError(file, line, column, (), message, None)]) from None
    if node is None:
        raise PackInvalid([PackError(file, 1, 1, (), "the file is empty", None)])
    return node


def _child(node: Node, step: str | int) -> Node | None:
    if isinstance(node, MappingNode):
        return next((v for k, v in node.value if k.value == str(step)), None)
    if isinstance(node, SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        found: Node = node.value[step]
        return found
    return None


def _find(node: Node, path: Path, file: str) -> Node:
    for step in path:
        child = _child(node, step)
        if child is None:
            where = ".".join(map(str, path))
            raise PackInvalid([PackError(file, 1, 1, path, f"no value at {where}", None)])
        node = child
    return node


def _error(file: str, node: Node, path: Path, message: str) -> PackError:
    return PackError(file, node.start_mark.line + 1, node.start_mark.column + 1, path, message)


def _end(node: Node) -> int:
    """Where a value's own text ends: a block collection's end mark lies past trailing comments."""
    if not isinstance(node, CollectionNode) or node.flow_style or not node.value:
        return int(node.end_mark.index)
    last = node.value[-1]
    return _end(last[1] if isinstance(node, MappingNode) else last)


def _line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def _line_end(text: str, index: int) -> int:
    """Just past the newline that ends the line holding `index` (or the end of the text)."""
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1


def _dash_column(text: str, item: Node) -> int:
    line = text[_line_start(text, item.start_mark.index) : item.start_mark.index]
    return len(line) - len(line.lstrip(" "))


def _data(text: str, node: Node) -> object:
    """The plain value of a composed node, for rewriting a flow collection around it."""
    end = node.end_mark.index
    return yaml.load(text[node.start_mark.index : end], Loader=BoundedLoader) if end else None


def _replace(text: str, node: Node, value: object) -> str:
    """Write `value` over `node` in the node's style: a block collection stays block lines."""
    start = node.start_mark.index
    block = isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style and node.value
    if block and isinstance(value, (dict, list)) and value:
        column = node.start_mark.column
        if isinstance(node, SequenceNode):
            column = _dash_column(text, node.value[0])
            start = _line_start(text, node.value[0].start_mark.index) + column
        lines = _block(value).splitlines()
        body = "\n".join([lines[0], *(" " * column + line for line in lines[1:])])
        return text[:start] + body + text[_end(node) :]
    if block:  # an empty list or mapping, or a single value, after the key on its own line
        colon = text.rfind(":", 0, start)
        return text[: colon + 1] + " " + _flow(value) + text[_end(node) :]
    if isinstance(node, ScalarNode) and node.style == '"' and isinstance(value, str):
        return text[:start] + _flow(value, '"') + text[_end(node) :]  # as it was quoted
    return text[:start] + _flow(value) + text[_end(node) :]


def _insert_key(text: str, mapping: MappingNode, key: str, value: object) -> str:
    if mapping.flow_style or not mapping.value:
        close = text.rfind("}", 0, mapping.end_mark.index)
        before = text[:close].rstrip()
        separator = "" if before.endswith("{") else ", "
        entry = f"{separator}{_flow(key)}: {_flow(value)}"
        return before + entry + text[len(before) :]
    column: int = mapping.value[0][0].start_mark.column
    at = _line_end(text, _end(mapping.value[-1][1]))
    line = " " * column + f"{_flow(key)}: {_flow(value)}\n"
    if at == len(text) and not text.endswith("\n"):
        line = "\n" + line.removesuffix("\n")
    return text[:at] + line + text[at:]


def _item(value: object, column: int, block: bool) -> str:
    """One new list item at `column`: block lines under `- ` when the list's items are."""
    if block and isinstance(value, dict) and value:
        lines = _block(value).splitlines()
        rest = "".join(f"\n{' ' * (column + 2)}{line}" for line in lines[1:])
        return f"{' ' * column}- {lines[0]}{rest}\n"
    return f"{' ' * column}- {_flow(value)}\n"


def _flow(value: object, style: str | None = None) -> str:
    """The value as YAML writes it inside `[...]` or `{...}`: plain when safe, quoted otherwise."""
    dumped = yaml.safe_dump(
        [value],
        allow_unicode=True,
        default_flow_style=True,
        default_style=style,
        width=10_000,
        sort_keys=False,
    )
    return dumped.strip().removeprefix("[").removesuffix("]")


def _block(value: object) -> str:
    return yaml.safe_dump(
        value, allow_unicode=True, default_flow_style=False, width=10_000, sort_keys=False
    ).removesuffix("\n")
