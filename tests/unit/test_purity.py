"""engine/ stays the pure core: no web framework inside it, and its calculators know no store.

Which parts may touch the database is said here, once: every subpackage but `specs` may
import `engine.store`; the pure calculators (pack specs, clocks, calendars, durations,
expressions, segmentation, masking, keys, the mail reader) may not, directly or through
another engine module.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"
FORBIDDEN = {"flask", "flask_admin", "flask_wtf", "flask_login", "wtforms", "apscheduler"}
ADAPTERS = {"workflows", "forms", "admin", "schedules", "wsgi", "cli", "api", "ops", "portal"}

# Subpackages that may import the store (SQLAlchemy and engine.store): all but the specs.
STORE_USERS = {
    "time",
    "records",
    "conversation",
    "customers",
    "insight",
    "knowledge",
    "delivery",
    "access",
    "files",
    "selfservice",  # the portal's outcomes, help pages, web form and tracking (issue #23)
}
# Modules of those subpackages that are pure calculators all the same: values in, values out.
PURE_MODULES = {
    "engine.time.clock",
    "engine.time.calendar",
    "engine.time.calendarconfig",
    "engine.time.workindex",
    "engine.time.coverage",
    "engine.time.officialdays",
    "engine.time.durations",
    "engine.knowledge.highlight",
    "engine.knowledge.segment",
    "engine.access.crypto",
    "engine.access.choices",
    "engine.access.masking",
    "engine.records.fieldvalues",
    "engine.conversation.mail",
    "engine.conversation.mailtext",
    "engine.conversation.mailparts",
    "engine.conversation.htmltext",
    "engine.conversation.quoting",
    "engine.files.checks",
    "engine.files.images",
    "engine.errors",
    "engine.bounds",
}
STORE = ("engine.store", "sqlalchemy")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement names (`from a.b import c` gives a.b and a.b.c)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def imported_roots(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


MODULES = {module_name(path): path for path in ENGINE.rglob("*.py")}


def is_pure(name: str) -> bool:
    parts = name.split(".")
    if name in PURE_MODULES:
        return True
    return len(parts) > 1 and parts[1] not in STORE_USERS and parts[1] not in {"store", "services"}


def test_engine_imports_no_framework() -> None:
    offenders = {
        name: sorted(imported_roots(path) & FORBIDDEN)
        for name, path in MODULES.items()
        if imported_roots(path) & FORBIDDEN
    }
    assert offenders == {}


def test_engine_does_not_import_the_adapters_around_it() -> None:
    offenders = {
        name: sorted(imported_roots(path) & ADAPTERS)
        for name, path in MODULES.items()
        if imported_roots(path) & ADAPTERS
    }
    assert offenders == {}


def test_pure_calculators_know_no_store_not_even_through_another_module() -> None:
    offenders: dict[str, list[str]] = {}
    for name, path in MODULES.items():
        if not is_pure(name):
            continue
        bad = [
            imported
            for imported in imported_modules(path)
            if imported.startswith(STORE)
            or (imported in MODULES and imported.startswith("engine.") and not is_pure(imported))
        ]
        if bad:
            offenders[name] = sorted(bad)
    assert offenders == {}


def test_every_engine_module_belongs_to_a_named_area() -> None:
    top_level = {name for name, path in MODULES.items() if path.parent == ENGINE}
    # errors and bounds: what every area raises and refuses, values in, values out.
    assert top_level <= {"engine", "engine.errors", "engine.bounds"}
    areas = {name.split(".")[1] for name in MODULES if name.count(".") >= 2}
    assert areas <= STORE_USERS | {"specs", "store", "services", "events"}


def test_the_guard_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from flask import Flask\nimport apscheduler.schedulers\n")
    assert imported_roots(module) & FORBIDDEN == {"flask", "apscheduler"}


def test_the_guard_sees_a_store_import_in_a_pure_module(tmp_path: Path) -> None:
    module = tmp_path / "calc.py"
    module.write_text("from engine.store.models import Record\n")
    assert any(name.startswith(STORE) for name in imported_modules(module))
    assert is_pure("engine.specs.pack") and not is_pure("engine.records.intake")
