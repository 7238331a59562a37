"""engine/ stays the pure core: no web, form, admin or scheduler framework inside it."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"
FORBIDDEN = {"flask", "flask_admin", "flask_wtf", "flask_login", "wtforms", "apscheduler"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_engine_imports_no_framework() -> None:
    offenders = {
        str(path.relative_to(ENGINE)): sorted(imported_roots(path) & FORBIDDEN)
        for path in ENGINE.rglob("*.py")
        if imported_roots(path) & FORBIDDEN
    }
    assert offenders == {}


def test_engine_does_not_import_the_adapters_around_it() -> None:
    adapters = {"workflows", "forms", "admin", "schedules", "wsgi", "cli"}
    offenders = {
        str(path.relative_to(ENGINE)): sorted(imported_roots(path) & adapters)
        for path in ENGINE.rglob("*.py")
        if imported_roots(path) & adapters
    }
    assert offenders == {}


def test_the_guard_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from flask import Flask\nimport apscheduler.schedulers\n")
    assert imported_roots(module) & FORBIDDEN == {"flask", "apscheduler"}
