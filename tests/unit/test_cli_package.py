"""cli/ is a package of commands that wsgi.py joins to the web app; nothing imports wsgi.py back."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.packaging.test_dependencies import ROOT, shipped_modules


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def product_modules() -> list[Path]:
    """Every shipped module but the entry point itself."""
    return [path for path in shipped_modules() if path != ROOT / "wsgi.py"]


def test_no_product_module_imports_the_entry_point() -> None:
    importers = [str(p.relative_to(ROOT)) for p in product_modules() if "wsgi" in imports(p)]
    assert importers == [], "wsgi.py is the entry point: import webapp or cli instead"


def test_commands_fail_through_click_not_sys_exit() -> None:
    for path in (ROOT / "cli").rglob("*.py"):
        assert "sys.exit" not in path.read_text(encoding="utf-8"), path


def test_every_command_of_the_group_is_there() -> None:
    from cli import careloop

    assert set(careloop.commands) == {
        "validate",
        "publish",
        "simulate",
        "packs",
        "pack",
        "db",
        "kb",
        "user",
        "team",
        "token",
        "customer",
        "new-data-key",
        "keys",
        "backup",
        "restore",
        "tiers",
        "rollup",
        "mail-in",
        "serve",
        "scheduler",
        "calendar",
    }
