"""Pack YAML cannot take a worker down: alias bombs, deep nesting and unstorable text are each
a file:line error in the packs' usual format (issue #22 item 1; R-5.1's `careloop validate`
never shows a traceback; ASVS 5.5.3 on deserialising untrusted data)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import careloop
from workflows.edit import set_value
from workflows.errors import PackInvalid
from workflows.loader import load_pack_from_files

PACK = Path(__file__).resolve().parents[2] / "workflows" / "after_sales"

# 1 KB that PyYAML composes into a graph of 9 nodes a level and 9 levels: built out in full,
# 9**9 (387 million) strings, which is what made `careloop validate` reach 1.6 GB.
ALIAS_BOMB = "lol: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"l{n}: &{chr(98 + n)} [{', '.join([f'*{chr(97 + n)}'] * 9)}]\n" for n in range(8)
)
DEEP = "deep: " + "[" * 20_000 + "]" * 20_000 + "\n"


def with_extra(text: str) -> dict[str, str]:
    """The shipped pack's files with `text` appended to pack.yaml (on lines after its own)."""
    files = {p.name: p.read_text(encoding="utf-8") for p in PACK.glob("*.yaml")}
    files["pack.yaml"] = files["pack.yaml"].rstrip("\n") + "\n" + text
    return files


def first_line_of(files: dict[str, str], needle: str) -> int:
    return files["pack.yaml"].splitlines().index(needle) + 1


def refusal(files: dict[str, str]) -> str:
    started = time.monotonic()
    with pytest.raises(PackInvalid) as caught:
        load_pack_from_files("after_sales", files, "workflows/after_sales")
    assert time.monotonic() - started < 5
    return "\n".join(map(str, caught.value.errors))


def test_an_alias_bomb_is_refused_at_its_line_within_a_budget() -> None:
    assert len(ALIAS_BOMB) < 1024
    files = with_extra(ALIAS_BOMB)
    message = refusal(files)
    line = first_line_of(files, ALIAS_BOMB.splitlines()[1])
    assert f"workflows/after_sales/pack.yaml:{line}:" in message
    assert "aliases" in message


def test_a_pack_nested_20000_deep_is_a_located_error_not_a_traceback() -> None:
    files = with_extra(DEEP)
    message = refusal(files)
    line = len(files["pack.yaml"].splitlines())
    assert f"workflows/after_sales/pack.yaml:{line}:" in message
    assert "nested deeper than 64 levels" in message


@pytest.mark.parametrize("escape", ["\\0", "\\ud800"])
def test_text_no_database_can_store_is_refused_where_written(escape: str) -> None:
    files = with_extra(f'note: "before {escape} after"\n')
    message = refusal(files)
    line = len(files["pack.yaml"].splitlines())
    assert f"workflows/after_sales/pack.yaml:{line}:7:" in message  # where the text starts
    assert "cannot hold" in message or "surrogate" in message


def test_careloop_validate_reports_the_bomb_in_the_packs_format(tmp_path: Path) -> None:
    folder = tmp_path / "after_sales"
    shutil.copytree(PACK, folder, ignore=shutil.ignore_patterns("scenarios"))
    with (folder / "pack.yaml").open("a", encoding="utf-8") as handle:
        handle.write(ALIAS_BOMB)
    started = time.monotonic()
    result = CliRunner().invoke(careloop, ["validate", str(folder)])
    assert time.monotonic() - started < 10
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert f"{folder.as_posix()}/pack.yaml:" in result.output and "aliases" in result.output


def test_the_editor_refuses_deep_nesting_as_a_located_error() -> None:
    """The admin's form editor composes the file itself (workflows/edit.py)."""
    files = with_extra(DEEP)
    with pytest.raises(PackInvalid) as caught:
        set_value(files["pack.yaml"], "pack.yaml", ("title",), "x")
    assert str(caught.value.errors[0]).startswith("pack.yaml:")
