"""Hypothesis: no input makes the pack validator or the scenario reader raise a foreign error."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.records.simulation import ScenarioError
from workflows.errors import PackInvalid
from workflows.loader import load_pack_from_files
from workflows.scenario import load_scenario
from workflows.validate import source_of

PACK = Path(__file__).resolve().parents[2] / "workflows" / "after_sales"
FILES = {p.name: p.read_text(encoding="utf-8") for p in sorted(PACK.glob("*.yaml"))}
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(
        [
            "pending",
            "P0",
            "3 working days",
            "2h",
            "{{ x }}",
            "record.__class__",
            "2026-11-23T09:00:00+08:00",
            "2026-02-30",
            "mon-fri",
            "25:00-26:00",
        ]
    ),
)
documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)


def validate(files: dict[str, str]) -> None:
    try:
        source_of(load_pack_from_files("after_sales", files, "workflows/after_sales"))
    except PackInvalid as invalid:
        assert invalid.errors and all(str(error) for error in invalid.errors)


@SETTINGS
@given(text=st.text(max_size=300))
def test_any_text_as_a_pack_file_is_valid_or_a_pack_error(text: str) -> None:
    validate({**FILES, "extra.yaml": text})


@SETTINGS
@given(data=st.data())
def test_the_real_pack_with_a_random_cut_is_valid_or_a_pack_error(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(FILES)))
    text = FILES[name]
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 80)))
    insert = data.draw(st.text(max_size=10))
    validate({**FILES, name: text[:start] + insert + text[end:]})


@SETTINGS
@given(
    document=documents,
    key=st.sampled_from(
        ["record_types", "calendars", "messages", "routing", "priorities", "format", "extra"]
    ),
)
def test_a_random_value_under_a_pack_key_is_valid_or_a_pack_error(document: Any, key: str) -> None:
    pack = yaml.safe_load(FILES["pack.yaml"])
    pack[key] = document
    validate({**FILES, "pack.yaml": yaml.safe_dump(pack, allow_unicode=True)})


@SETTINGS
@given(document=documents)
def test_any_scenario_reads_or_is_a_scenario_error(document: Any) -> None:
    text = yaml.safe_dump(document, allow_unicode=True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_scenario(path)
        except ScenarioError as error:
            assert error.line >= 1


@SETTINGS
@given(text=st.text(max_size=300))
def test_any_text_as_a_scenario_reads_or_is_a_scenario_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_scenario(path)
        except ScenarioError as error:
            assert error.line >= 1
