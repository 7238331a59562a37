"""Load YAML and remember where each key and value was written, so errors name line and column."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml
from yaml.composer import ComposerError
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.reader import ReaderError

from engine import bounds
from workflows.errors import PackError, PackInvalid

DataPath = tuple[str | int, ...]
Position = tuple[int, int]

_MERGE_TAG = "tag:yaml.org,2002:merge"
# A pack is a few thousand values; an alias bomb (each anchor a list of aliases to the one
# before) expands 1 KB of YAML to billions. Building stops past these budgets, naming the line.
MAX_VALUES = 200_000  # values built, aliases expanded included
MAX_ALIASES = 1_000  # aliases to a list or mapping expanded (merge keys are aliases too)


class BoundedLoader(yaml.SafeLoader):
    """SafeLoader whose composer refuses nesting past `bounds.MAX_DEPTH`, before PyYAML's own
    recursion reaches Python's stack limit (a pack nested 20,000 deep was a traceback)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        self.depth += 1
        try:
            if self.depth > bounds.MAX_DEPTH:
                raise ComposerError(
                    None,
                    None,
                    f"nested deeper than {bounds.MAX_DEPTH} levels",
                    self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


@dataclass(frozen=True)
class Marks:
    """1-based positions of one file's values and keys, by data path."""

    values: dict[DataPath, Position] = field(default_factory=dict)
    keys: dict[DataPath, Position] = field(default_factory=dict)

    def prefix(self, path: DataPath) -> DataPath:
        """The deepest part of `path` this file defines, so missing keys point at their parent."""
        path = tuple(path)
        while path and path not in self.values:
            path = path[:-1]
        return path

    def locate(self, path: DataPath) -> Position:
        """Where the value at `path` (or its deepest existing parent) starts."""
        return self.values.get(self.prefix(path), (1, 1))

    def locate_key(self, path: DataPath) -> Position:
        """Where the key of `path` is written, for errors about the key itself."""
        return self.keys.get(tuple(path)) or self.locate(path)


def load_yaml(text: str, filename: str) -> tuple[object, Marks]:
    """Parse one YAML text with positions; raise PackInvalid instead of PyYAML's tracebacks."""
    try:
        loader = BoundedLoader(text)
    except ReaderError as exc:  # control characters are rejected before parsing starts
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        hint = f"remove the character U+{exc.character:04X}"
        error = PackError(filename, line, column, (), f"invalid YAML: {exc.reason}", hint)
        raise PackInvalid([error]) from None
    builder = _Builder(loader, filename)
    try:
        node = loader.get_single_node()
        data = None if node is None else builder.build(node, ())
    except yaml.MarkedYAMLError as exc:
        raise PackInvalid([_syntax_error(exc, filename)]) from None
    except _OverBudget as exc:
        hint = "use fewer aliases (*name) and less nesting; write the values out"
        error = PackError(filename, *_position(exc.node), (), f"the YAML {exc.problem}", hint)
        raise PackInvalid([error]) from None
    finally:
        loader.dispose()
    if builder.errors:
        raise PackInvalid(list(dict.fromkeys(builder.errors)))
    builder.marks.values.setdefault((), (1, 1))
    return data, builder.marks


class _OverBudget(Exception):
    """Building stopped: the YAML expands past `MAX_VALUES`, `MAX_ALIASES` or the depth bound."""

    def __init__(self, node: Node, problem: str) -> None:
        super().__init__(problem)
        self.node = node
        self.problem = problem


def _position(node: Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _syntax_error(exc: yaml.MarkedYAMLError, filename: str) -> PackError:
    """Point at the problem mark and keep PyYAML's wording, which names the offending token."""
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    problem, context, hint = exc.problem or "", exc.context or "", None
    if context.startswith("while ") and exc.context_mark and exc.context_mark is not mark:
        where = exc.context_mark
        hint = f"{context} that starts at line {where.line + 1}, column {where.column + 1}"
    elif context:
        problem = f"{context}, {problem}" if problem else context
    if "'\\t'" in problem:
        hint = "indent with spaces, not tabs"
    return PackError(filename, line, column, (), f"invalid YAML: {problem}", hint)


class _Builder:
    """Constructs plain values from composed nodes while recording marks (PyYAML keeps none)."""

    def __init__(self, loader: yaml.SafeLoader, filename: str):
        self.loader = loader
        self.filename = filename
        self.marks = Marks()
        self.errors: list[PackError] = []
        self.open_nodes: set[int] = set()
        self.built: set[int] = set()  # lists and mappings built once: another visit is an alias
        self.values = 0
        self.aliases = 0

    def build(self, node: Node, path: DataPath) -> object:
        self.marks.values[path] = _position(node)
        self.values += 1
        if self.values > MAX_VALUES or len(path) > bounds.MAX_DEPTH:
            raise _OverBudget(
                node, f"expands to more than {MAX_VALUES} values or {bounds.MAX_DEPTH} levels"
            )
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.built:
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _OverBudget(node, f"expands more than {MAX_ALIASES} aliases")
        self.built.add(id(node))
        if id(node) in self.open_nodes:
            message = "an alias refers to a value that contains it"
            self.error(node, path, message, "YAML aliases may not loop")
            return None
        self.open_nodes.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self.mapping(node, path)
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        finally:
            self.open_nodes.discard(id(node))

    def scalar(self, node: ScalarNode, path: DataPath) -> object:
        """Resolve like SafeLoader; an impossible date (2024-13-01) stays text for the schema.
        A "\\ud800" or "\\0" escape makes text no database can store: an error at its line."""
        problem = bounds.text_problem(node.value)
        if problem is not None:
            self.error(node, path, f"the text {problem}", "remove the escape sequence")
            return None
        try:
            return self.loader.construct_object(node, deep=True)
        except ValueError:
            return node.value

    def mapping(self, node: MappingNode, path: DataPath) -> dict[str, object]:
        """Keys are the text as written (`on:` stays 'on', `1:` '1'); a repeated key is an error."""
        explicit = {id(key) for key, _ in node.value if key.tag != _MERGE_TAG}
        self.loader.flatten_mapping(node)  # `<<: *anchor`: merged keys first, explicit ones win
        result: dict[str, object] = {}
        first_seen: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.error(key_node, path, "a key must be plain text, not a mapping or list")
                continue
            key = key_node.value
            if id(key_node) in explicit:
                if key in first_seen:
                    first_line = _position(first_seen[key])[0]
                    hint = f"each key may appear once; the first is at line {first_line}"
                    self.error(key_node, (*path, key), f"duplicate key '{key}'", hint)
                    continue
                first_seen[key] = key_node
            self.marks.keys[(*path, key)] = _position(key_node)
            result[key] = self.build(value_node, (*path, key))
        return result

    def error(self, node: Node, path: DataPath, message: str, hint: str | None = None) -> None:
        self.errors.append(PackError(self.filename, *_position(node), path, message, hint))
