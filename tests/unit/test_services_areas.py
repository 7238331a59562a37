"""`Services` imports each area of the use cases on first use (engine/services, issue #24 item 2).

`AREAS` names every attribute of every area: one it forgot would be missing from `Services` at
run time while the type checker, which sees the class built from every area, says it is there.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

from engine.services import AREAS, Services, area_class
from engine.services.base import ServiceBase

ROOT = Path(__file__).resolve().parents[2]


def test_areas_name_exactly_what_each_area_defines_each_name_once() -> None:
    seen: dict[str, str] = {}
    for area, names in AREAS.items():
        found = area_class(area)
        assert found.__bases__ == (ServiceBase,), area
        defined = {name for name in vars(found) if not name.startswith("__")}
        assert set(names) == defined, area
        for name in names:
            assert name not in seen, f"{name} is in {seen.get(name)} and {area}"
            seen[name] = area
            assert not hasattr(ServiceBase, name), name


def test_no_area_method_calls_super_which_would_not_find_the_area_in_the_mro() -> None:
    for area in AREAS:
        for name, value in vars(area_class(area)).items():
            if inspect.isfunction(value):
                assert "__class__" not in value.__code__.co_freevars, f"{area}.{name}"


def test_every_name_is_the_areas_own_function_once_used() -> None:
    for area, names in AREAS.items():
        found = area_class(area)
        for name in names:
            getattr(Services, name)  # the first use puts the area's own attribute in place
            assert inspect.getattr_static(Services, name) is vars(found)[name]


IMPORTED = """
import json, sys
from engine.services import Services
imported = lambda: sorted(m for m in sys.modules if m.startswith("engine.services."))
before = imported()
Services.sweep
print(json.dumps([before, imported()]))
"""


def test_an_area_is_imported_when_one_of_its_names_is_first_used() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORTED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    before, after = json.loads(result.stdout)
    assert before == ["engine.services.base"]
    assert after == ["engine.services.base", "engine.services.sweeping"]
