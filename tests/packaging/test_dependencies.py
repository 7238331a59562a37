"""Issue #19: every third-party library the shipped code imports is declared in pyproject.toml.

A library that arrives only as another's dependency can vanish with that library's next
release; declaring it (with a lower bound) keeps an install working.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
OWN = set(PYPROJECT["tool"]["setuptools"]["py-modules"]) | {
    name.rstrip("*") for name in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
}


def shipped_modules() -> list[Path]:
    files = [ROOT / f"{name}.py" for name in PYPROJECT["tool"]["setuptools"]["py-modules"]]
    for package in OWN:
        files.extend((ROOT / package).rglob("*.py"))
    return [path for path in files if path.exists()]


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def requirement_name(requirement: str) -> str:
    name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    project = PYPROJECT["project"]
    runtime = list(project["dependencies"])
    runtime += project["optional-dependencies"]["postgres"]
    runtime += project["optional-dependencies"]["server"]
    runtime += project["optional-dependencies"]["redis"]
    return {requirement_name(r) for r in runtime}


def test_every_imported_library_is_declared() -> None:
    distributions = packages_distributions()
    third_party = {
        root
        for path in shipped_modules()
        for root in imported_roots(path)
        if root not in sys.stdlib_module_names and root not in OWN and root != "__future__"
    }
    assert third_party, "the scan found no import at all"
    missing = {
        root: names
        for root in sorted(third_party)
        if not (names := {requirement_name(d) for d in distributions.get(root, [root])})
        & declared()
    }
    assert missing == {}


def test_database_driver_and_server_are_extras_not_forced_on_sqlite_users() -> None:
    base = {requirement_name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert "psycopg" not in base and "gunicorn" not in base
    assert "psycopg" in declared() and "gunicorn" in declared()
