"""The engine's list of reserved field names keeps up with WTForms (issue #19).

`engine.specs.pack.FORM_ATTRIBUTES` is written out by hand because the engine may not import
WTForms; the pack builder refuses those names and forms/builder.py trusts that. Should a
WTForms or Flask-WTF upgrade give forms a new attribute, these tests fail until it is added.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_wtf import FlaskForm
from wtforms import Form

from engine.specs.build import build_pack_spec
from engine.specs.pack import CORE_FIELDS, FORM_ATTRIBUTES, RESERVED_FIELDS
from forms.builder import transition_form_class
from workflows.validate import checked_source

RETAIL = Path(__file__).resolve().parents[2] / "workflows" / "retail"


def public(names: list[str]) -> set[str]:
    return {name for name in names if not name.startswith("_")}


def test_every_attribute_of_a_form_class_is_reserved() -> None:
    assert public(dir(FlaskForm)) | public(dir(Form)) <= FORM_ATTRIBUTES


def test_every_attribute_of_a_form_instance_is_reserved() -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "test"
    with app.test_request_context():
        form = FlaskForm()
        assert public(dir(form)) <= FORM_ATTRIBUTES


def test_the_fields_a_built_form_adds_are_reserved() -> None:
    spec, problems = build_pack_spec(checked_source(RETAIL).data)
    assert spec is not None, problems
    rtype = next(iter(spec.record_types.values()))
    transition = next(iter(rtype.transitions.values()))
    form_class = transition_form_class(
        spec, rtype, transition, version_id=-1, timezone=spec.timezone
    )
    added = public(dir(form_class)) - public(dir(FlaskForm)) - {f.field for f in transition.form}
    assert added <= FORM_ATTRIBUTES


def test_core_fields_stay_usable_in_a_form_but_not_as_pack_fields() -> None:
    assert not set(CORE_FIELDS) & FORM_ATTRIBUTES
    assert set(CORE_FIELDS) | FORM_ATTRIBUTES <= RESERVED_FIELDS
