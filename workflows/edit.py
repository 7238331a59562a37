"""Change one value of a pack's YAML in place, keeping every comment and the layout around it.

The structured forms of the admin edit this way, so a person who changes
"P1 resolve in 3 working days" to 2 leaves the file as readable as it was.
"""

from __future__ import annotations

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from workflows.errors import PackError, PackInvalid

Path = tuple[str | int, ...]


def replace_scalar(text: str, file: str, path: Path, value: str) -> str:
    """`text` with the scalar at `path` replaced by `value` (quoted when YAML needs it)."""
    node = _find(yaml.compose(text, Loader=yaml.SafeLoader), path, file)
    if not isinstance(node, ScalarNode):
        raise PackInvalid(
            [
                PackError(
                    file,
                    node.start_mark.line + 1,
                    node.start_mark.column + 1,
                    path,
                    "not a single value",
                    None,
                )
            ]
        )
    start, end = node.start_mark.index, node.end_mark.index
    return text[:start] + _scalar(value) + text[end:]


def _find(node: Node | None, path: Path, file: str) -> Node:
    for step in path:
        if isinstance(node, MappingNode):
            node = next((v for k, v in node.value if k.value == str(step)), None)
        elif isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            node = None
        if node is None:
            raise PackInvalid(
                [PackError(file, 1, 1, path, f"no value at {'.'.join(map(str, path))}", None)]
            )
    assert node is not None
    return node


def _scalar(value: str) -> str:
    """The value as YAML writes it in a flow context: plain when safe, quoted otherwise."""
    dumped = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=10_000)
    return dumped.removesuffix("\n").removesuffix("\n...")
