"""Transition forms are built from the pack and hand the engine values it accepts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask_wtf import FlaskForm
from wtforms.fields import DateTimeLocalField, FloatField, SelectField, TextAreaField

from engine.records.fieldvalues import coerce_values
from engine.specs.build import build_pack_spec
from engine.specs.pack import (
    CORE_FIELDS,
    FIELD_TYPES,
    FieldSpec,
    FormField,
    PackSpec,
    RecordTypeSpec,
    TransitionSpec,
)
from forms.builder import form_values, initial_data, transition_form_class
from workflows.validate import checked_source

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
PACKS = sorted(p.parent for p in (ROOT / "workflows").glob("*/pack.yaml"))


def pack_spec(folder: Path) -> PackSpec:
    source = checked_source(folder)
    spec, problems = build_pack_spec(source.data)
    assert problems == [] and spec is not None
    return spec


@pytest.fixture(scope="module")
def pack() -> PackSpec:
    return pack_spec(ROOT / "workflows" / "after_sales")


@pytest.fixture()
def app() -> Iterator[Flask]:
    app = Flask(__name__)
    app.config.update(SECRET_KEY="test", WTF_CSRF_ENABLED=False)
    yield app


def bound(app: Flask, pack: PackSpec, transition: str, data: dict[str, str]) -> FlaskForm:
    """A form bound to a POST of `data`, as the agent's browser sends it."""
    rtype = pack.record_type("feedback")
    cls = transition_form_class(
        pack, rtype, rtype.transitions[transition], version_id=1, timezone=SHANGHAI
    )
    with app.test_request_context(method="POST", data={"row_version": "3", **data}):
        return cls()


def test_accept_asks_for_a_category_a_priority_and_optional_resources(
    app: Flask, pack: PackSpec
) -> None:
    form = bound(app, pack, "accept", {})
    assert list(form._fields) == ["category", "priority", "resources", "row_version"]
    assert isinstance(form.category, SelectField) and form.category.flags.required
    assert [c.value for c in form.category.choices] == list(pack.categories)
    assert form.category.label.text == "类别"
    first = form.priority.choices[0]
    assert (first.value, first.label) == ("P0", f"P0 {pack.priorities[0].title}")
    assert not form.resources.flags.required
    assert [c.value for c in form.resources.choices] == ["", "remote", "on_site", "spare_part"]
    assert 'type="hidden"' in form.row_version()


def test_csrf_stays_on_unless_the_app_turns_it_off(app: Flask, pack: PackSpec) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    form = bound(app, pack, "close", {})
    assert "csrf_token" in form._fields
    with app.test_request_context():
        assert not form.validate()
    assert "csrf_token" in form.errors


def test_resolve_asks_for_a_required_choice_and_a_local_visit_time(
    app: Flask, pack: PackSpec
) -> None:
    form = bound(app, pack, "resolve", {})
    assert isinstance(form.solution_type, SelectField) and form.solution_type.flags.required
    first = form.solution_type.choices[0]
    assert (first.value, first.label) == ("technical", "技术类")
    assert isinstance(form.solution, TextAreaField)
    assert isinstance(form.visit_at, DateTimeLocalField)
    assert 'type="datetime-local"' in form.visit_at()
    assert form.visit_at.label.text == "上门时间"


def test_a_post_missing_a_required_field_fails_on_that_field_and_keeps_the_rest(
    app: Flask, pack: PackSpec
) -> None:
    form = bound(
        app, pack, "resolve", {"solution_type": "technical", "visit_at": "2026-11-24T10:00"}
    )
    with app.test_request_context():
        assert not form.validate()
    assert set(form.errors) == {"solution"}
    assert form.solution_type.data == "technical"
    assert 'value="2026-11-24T10:00"' in form.visit_at()


def test_a_number_outside_its_range_fails(app: Flask, pack: PackSpec) -> None:
    form = bound(app, pack, "close", {"satisfaction": "7"})
    assert isinstance(form.satisfaction, FloatField)
    with app.test_request_context():
        assert not form.validate()
    assert set(form.errors) == {"satisfaction"}


@pytest.mark.parametrize("raw", ["nan", "inf"])
def test_a_number_that_is_not_finite_fails(app: Flask, pack: PackSpec, raw: str) -> None:
    form = bound(app, pack, "close", {"satisfaction": raw})
    with app.test_request_context():
        assert not form.validate()
    assert set(form.errors) == {"satisfaction"}


def test_form_values_hold_only_filled_fields_in_the_engines_shapes(
    app: Flask, pack: PackSpec
) -> None:
    resolve = pack.record_type("feedback").transitions["resolve"]
    form = bound(
        app,
        pack,
        "resolve",
        {"solution_type": "service", "solution": " 更换滤芯 ", "visit_at": "2026-11-24T10:00"},
    )
    with app.test_request_context():
        assert form.validate(), form.errors
    assert form_values(form, resolve) == {
        "solution_type": "service",
        "solution": "更换滤芯",
        "visit_at": "2026-11-24T10:00:00+08:00",
    }
    assert form.row_version.data == 3
    assert coerce_values(pack, pack.record_type("feedback"), form_values(form, resolve))

    close = pack.record_type("feedback").transitions["close"]
    form = bound(app, pack, "close", {"satisfaction": "4", "satisfaction_comment": ""})
    with app.test_request_context():
        assert form.validate(), form.errors
    values = form_values(form, close)
    assert values == {"satisfaction": 4} and isinstance(values["satisfaction"], int)


def test_an_empty_optional_select_is_left_out(app: Flask, pack: PackSpec) -> None:
    accept = pack.record_type("feedback").transitions["accept"]
    data = {"category": next(iter(pack.categories)), "priority": "P1", "resources": ""}
    form = bound(app, pack, "accept", data)
    with app.test_request_context():
        assert form.validate(), form.errors
    assert form_values(form, accept) == {"category": data["category"], "priority": "P1"}


def test_every_field_type_and_core_field_converts_to_the_engines_shape(
    app: Flask, pack: PackSpec
) -> None:
    fields = {t: FieldSpec(id=t, type=t, label=t, choices={"a": "甲"}) for t in FIELD_TYPES}
    names = [*FIELD_TYPES, *CORE_FIELDS]
    rtype = RecordTypeSpec("all", "all", fields, {}, "pending", {})
    step = TransitionSpec("go", "go", (), "x", form=tuple(FormField(n) for n in names))
    cls = transition_form_class(pack, rtype, step, version_id=10, timezone=ZoneInfo("UTC"))
    data = {
        "text": "说明",
        "number": "0.5",
        "choice": "a",
        "date": "2026-11-22",
        "datetime": "2026-11-22T09:30",
        "customer": "C001",
        "contact": " 138 0000 0000 ",
        "priority": "P2",
        "category": next(iter(pack.categories)),
        "channel": next(iter(pack.channels)),
        "assignee": "li.lei",
        "department": next(iter(pack.departments)),
    }
    with app.test_request_context(method="POST", data={"row_version": "1", **data}):
        form = cls()
        assert form.validate(), form.errors
    values = form_values(form, step)
    assert coerce_values(pack, rtype, values) == values
    assert values == {
        **data,
        "number": 0.5,
        "datetime": "2026-11-22T09:30:00+00:00",
        "contact": "138 0000 0000",
    }


def test_a_get_shows_the_stored_values_in_the_users_zone(app: Flask, pack: PackSpec) -> None:
    rtype = pack.record_type("feedback")
    resolve = rtype.transitions["resolve"]
    cls = transition_form_class(pack, rtype, resolve, version_id=1, timezone=SHANGHAI)
    stored = {"solution_type": "technical", "visit_at": "2026-11-24T02:00:00+00:00"}
    with app.test_request_context():
        form = cls(data=initial_data(rtype, resolve, stored, row_version=5))
        assert 'value="2026-11-24T10:00"' in form.visit_at()
        assert 'value="5"' in form.row_version()
        assert form.solution_type.data == "technical" and form.solution.data is None


def test_the_class_is_built_once_per_version_type_transition_and_zone(pack: PackSpec) -> None:
    rtype = pack.record_type("feedback")
    accept = rtype.transitions["accept"]
    first = transition_form_class(pack, rtype, accept, version_id=7, timezone=SHANGHAI)
    again = transition_form_class(pack, rtype, accept, version_id=7, timezone=SHANGHAI)
    other = transition_form_class(pack, rtype, accept, version_id=8, timezone=SHANGHAI)
    utc = transition_form_class(pack, rtype, accept, version_id=7, timezone=ZoneInfo("UTC"))
    assert first is again
    assert other is not first and utc is not first


def test_a_field_named_like_a_form_attribute_is_refused(pack: PackSpec) -> None:
    rtype = RecordTypeSpec(
        id="odd",
        title="odd",
        fields={"data": FieldSpec(id="data", type="text", label="数据")},
        stages={},
        initial="pending",
        transitions={},
    )
    step = TransitionSpec(id="go", title="go", sources=(), target="x", form=(FormField("data"),))
    with pytest.raises(ValueError, match="'data' clashes"):
        transition_form_class(pack, rtype, step, version_id=9, timezone=SHANGHAI)


def test_every_transition_of_every_shipped_pack_builds_and_renders(app: Flask) -> None:
    seen: set[str] = set()
    for version_id, folder in enumerate(PACKS, start=1000):
        spec = pack_spec(folder)
        for rtype in spec.record_types.values():
            for transition in rtype.transitions.values():
                cls = transition_form_class(
                    spec, rtype, transition, version_id=version_id, timezone=SHANGHAI
                )
                with app.test_request_context(method="POST", data={}):
                    form = cls()
                    for item in transition.form:
                        assert form[item.field]()  # renders its HTML input
                        field = rtype.fields.get(item.field)
                        seen.add(field.type if field else item.field)
    assert {"catering", "education"} <= {p.name for p in PACKS}
    assert set(FIELD_TYPES) - {"customer", "contact"} <= seen
