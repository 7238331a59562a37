"""Scenario files for `careloop simulate`: read them with line numbers and check their expectations.

A scenario names a pack (a folder relative to the scenario file), `start`
and `until`, optional `customers`, timed `steps` (`create`, `transition`,
`extend` or `reply`) and, optionally, what must come out (`expect`), so a
scenario is both a rehearsal of a process and a test of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from engine.records.simulation import Scenario, ScenarioError, Step, Timeline
from workflows.errors import PackInvalid
from workflows.yamlmarks import Marks, load_yaml

TOP_KEYS = {"pack", "description", "start", "until", "customers", "steps", "expect"}
# An expectation not met: where it is written in the scenario, and what happened instead.
Mismatch = tuple[tuple[str | int, ...], str]


@dataclass(frozen=True)
class LoadedScenario:
    pack_path: Path
    scenario: Scenario
    expect: Mapping[str, Any]
    marks: Marks


def load_scenario(path: Path) -> LoadedScenario:
    """Parse and check a scenario file; every problem is a ScenarioError with its line."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(file, 1, f"cannot read scenario: {exc.strerror}") from None
    try:
        data, marks = load_yaml(text, file)
    except PackInvalid as exc:
        first = exc.errors[0]
        raise ScenarioError(file, first.line, first.message) from None
    reader = _Reader(file, marks)
    if not isinstance(data, dict):
        raise ScenarioError(file, 1, "a scenario is a mapping with pack, start, until and steps")
    for key in data:
        if key not in TOP_KEYS:
            reader.fail((key,), f"unknown key '{key}' (allowed: {', '.join(sorted(TOP_KEYS))})")
    pack = reader.require(data, (), "pack", str)
    start = reader.moment(data, (), "start")
    until = reader.moment(data, (), "until")
    if until < start:
        reader.fail(("until",), "until lies before start")
    steps = tuple(
        reader.step(i, s, start, until)
        for i, s in enumerate(reader.require(data, (), "steps", list))
    )
    customers = tuple(data.get("customers") or [])
    scenario = Scenario(file, start, until, steps, customers)
    return LoadedScenario((path.parent / pack).resolve(), scenario, data.get("expect") or {}, marks)


class _Reader:
    def __init__(self, file: str, marks: Marks) -> None:
        self.file, self.marks = file, marks

    def fail(self, path: tuple[str | int, ...], message: str) -> NoReturn:
        raise ScenarioError(self.file, self.marks.locate(path)[0], message)

    def require(
        self, data: Mapping[str, Any], path: tuple[str | int, ...], key: str, kind: type
    ) -> Any:
        if key not in data:
            self.fail(path, f"missing '{key}'")
        if not isinstance(data[key], kind):
            self.fail((*path, key), f"'{key}' must be a {kind.__name__}")
        return data[key]

    def moment(self, data: Mapping[str, Any], path: tuple[str | int, ...], key: str) -> datetime:
        value = data.get(key)
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                self.fail((*path, key), f"'{key}' is not an ISO 8601 time: {value}")
        if not isinstance(value, datetime):
            self.fail(
                (*path, key) if key in data else path,
                f"'{key}' must be an ISO 8601 time with offset, e.g. 2026-11-23T09:00:00+08:00",
            )
        if value.tzinfo is None:
            self.fail((*path, key), f"'{key}' has no timezone offset; add one such as +08:00")
        return value

    def step(self, index: int, data: Any, start: datetime, until: datetime) -> Step:
        path: tuple[str | int, ...] = ("steps", index)
        if not isinstance(data, dict):
            self.fail(path, f"a step is a mapping with 'at' and one of {STEP_WORDS}")
        at = self.moment(data, path, "at")
        if not start <= at <= until:
            self.fail((*path, "at"), "step lies outside start … until")
        actions = [k for k in ACTIONS if k in data]
        if len(actions) != 1 or set(data) - {"at", "note", *ACTIONS}:
            self.fail(path, f"a step has 'at' and exactly one of {STEP_WORDS}")
        action = actions[0]
        body = self.require(data, path, action, dict)
        self.require(body, (*path, action), "ref", str)
        self.require(body, (*path, action), ACTIONS[action], str)
        if action == "answer":  # the 1–5 score, and the 0–10 NPS where the pack asks
            self.require(body, (*path, action), "score", int)
        for key in ("received_at", "deadline"):
            if key in body or (key == "deadline" and action == "extend"):
                body = {**body, key: self.moment(body, (*path, action), key)}
        return Step(at, action, body["ref"], body, self.marks.locate(path)[0])


# Each step's action and the key it needs besides `ref`: an extension's reason, an
# answer's source (`link`, `agent`: the customer's survey or the callback, R-3.3), a reply's
# text (an agent wrote to the customer, which may spare a contact).
ACTIONS = {
    "create": "type",
    "transition": "to",
    "extend": "reason",
    "answer": "via",
    "reply": "text",
}
STEP_WORDS = "'create', 'transition', 'extend', 'answer' or 'reply'"


def check_expectations(loaded: LoadedScenario, timeline: Timeline) -> list[str]:
    """Compare `expect` with what happened; each mismatch as `file:line: message`."""
    file, marks, expect = loaded.scenario.file, loaded.marks, loaded.expect
    mismatches = [
        mismatch
        for section, check in EXPECTATIONS.items()
        for mismatch in check(expect.get(section), timeline)
    ]
    return [f"{file}:{marks.locate(path)[0]}: {message}" for path, message in mismatches]


def _record_mismatches(records: Mapping[str, Any] | None, timeline: Timeline) -> list[Mismatch]:
    """Each named record must exist and hold the values given."""
    found: list[Mismatch] = []
    for ref, wanted in (records or {}).items():
        path = ("expect", "records", ref)
        actual = timeline.records.get(ref)
        if actual is None:
            found.append((path, f"no record '{ref}'"))
        else:
            found += [(path, message) for message in _value_mismatches(ref, wanted, actual)]
    return found


def _value_mismatches(ref: str, wanted: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """A mapping (deadlines, fields) is compared key by key: only the keys given must match."""
    messages = []
    for key, value in wanted.items():
        got = actual.get(key)
        if isinstance(value, dict):
            messages += [
                f"{ref}.{key}.{name} is {(got or {}).get(name)}, expected {sub}"
                for name, sub in value.items()
                if not _same(sub, (got or {}).get(name))
            ]
        elif not _same(value, got):
            messages.append(f"{ref}.{key} is {got}, expected {value}")
    return messages


def _event_mismatches(events: list[Any] | None, timeline: Timeline) -> list[Mismatch]:
    """Each expected event must have happened at least once."""
    return [
        (("expect", "events", i), f"no event {_describe(event)}")
        for i, event in enumerate(events or [])
        if not any(_matches(event, e) for e in timeline.events)
    ]


def _care_mismatches(care: list[Any] | None, timeline: Timeline) -> list[Mismatch]:
    """Expected care must have happened at least once, or exactly `count` times."""
    return _happened("care", care, timeline.care)


def _warning_mismatches(warnings: list[Any] | None, timeline: Timeline) -> list[Mismatch]:
    """Warnings the monitors raise at `until` (R-6.1), as care: at least once, or `count`."""
    return _happened("warnings", warnings, timeline.warnings)


def _happened(
    section: str, expected: list[Any] | None, happened: list[dict[str, str | None]]
) -> list[Mismatch]:
    found: list[Mismatch] = []
    for i, wanted in enumerate(expected or []):
        keys = {k: v for k, v in wanted.items() if k != "count"}
        times_seen = sum(1 for c in happened if _matches(keys, c))
        count = wanted.get("count")
        if (count is None and not times_seen) or (count is not None and times_seen != count):
            times = f"{times_seen} times, expected {count}" if count is not None else "never"
            what = "care" if section == "care" else "warning"
            found.append((("expect", section, i), f"{what} {_describe(keys)} happened {times}"))
    return found


def _absent_mismatches(events: list[Any] | None, timeline: Timeline) -> list[Mismatch]:
    """An event listed under `absent` must not have happened."""
    return [
        (("expect", "absent", i), f"unexpected event {_describe(event)}")
        for i, event in enumerate(events or [])
        if any(_matches(event, e) for e in timeline.events)
    ]


def _figure_mismatches(figures: Mapping[str, Any] | None, timeline: Timeline) -> list[Mismatch]:
    """Each named figure (csat, churn_rate, cltv, …) must be that value, to 2 decimals;
    `null` when there is nothing to count."""
    found: list[Mismatch] = []
    for name, wanted in (figures or {}).items():
        if name not in timeline.figures:
            known = ", ".join(sorted(timeline.figures))
            found.append((("expect", "figures", name), f"no figure '{name}' (known: {known})"))
        elif not _close(wanted, timeline.figures[name]):
            got = timeline.figures[name]
            found.append((("expect", "figures", name), f"{name} is {got}, expected {wanted}"))
    return found


def _loyalty_mismatches(loyalty: Mapping[str, Any] | None, timeline: Timeline) -> list[Mismatch]:
    """Each named customer's unexpired loyalty points and level, as given."""
    found: list[Mismatch] = []
    for number, wanted in (loyalty or {}).items():
        actual = timeline.loyalty.get(str(number))
        path = ("expect", "loyalty", number)
        if actual is None:
            found.append((path, f"no customer '{number}'"))
            continue
        found += [(path, message) for message in _value_mismatches(str(number), wanted, actual)]
    return found


def _mailed_mismatches(mailed: list[Any] | None, timeline: Timeline) -> list[Mismatch]:
    """Each expected mail (`to`, `subject`, text the body `contains`) went out at least once,
    or exactly `count` times (issue #25 item 4: the scheduled reviews, R-7.2 notices)."""
    found: list[Mismatch] = []
    for i, wanted in enumerate(mailed or []):
        parts = _parts(wanted.get("contains"))
        keys = {k: wanted[k] for k in ("to", "subject") if k in wanted}
        sent = sum(
            1
            for m in timeline.mailed
            if _matches(keys, m) and all(part in m["body"] for part in parts)
        )
        miss = _count_miss(sent, wanted.get("count"))
        if miss:
            what = _describe({**keys, "contains": " / ".join(parts)})
            found.append((("expect", "mailed", i), f"mail {what} went out {miss}"))
    return found


def _parts(contains: Any) -> list[str]:
    """`contains`: one text or a list of texts."""
    if contains is None:
        return []
    return [contains] if isinstance(contains, str) else [str(c) for c in contains]


def _count_miss(happened: int, count: Any) -> str | None:
    """How often it happened, when that is not what `count` (or "at least once") asks."""
    if count is None:
        return None if happened else "never"
    return None if happened == count else f"{happened} times, expected {count}"


def _action_mismatches(actions: list[Any] | None, timeline: Timeline) -> list[Mismatch]:
    """Each expected improvement action (department, category, …) was raised at least once,
    or exactly `count` times (R-7.2: not again while one is open)."""
    found: list[Mismatch] = []
    for i, wanted in enumerate(actions or []):
        keys = {k: v for k, v in wanted.items() if k != "count"}
        raised = sum(1 for a in timeline.actions if _matches(keys, a))
        miss = _count_miss(raised, wanted.get("count"))
        if miss:
            found.append((("expect", "actions", i), f"action {_describe(keys)} raised {miss}"))
    return found


def _close(expected: Any, actual: Any) -> bool:
    if expected is None or actual is None:
        return expected is actual
    return bool(round(float(expected), 2) == round(float(actual), 2))


EXPECTATIONS: dict[str, Callable[[Any, Timeline], list[Mismatch]]] = {
    "records": _record_mismatches,
    "events": _event_mismatches,
    "care": _care_mismatches,
    "absent": _absent_mismatches,
    "figures": _figure_mismatches,
    "loyalty": _loyalty_mismatches,
    "mailed": _mailed_mismatches,
    "actions": _action_mismatches,
    "warnings": _warning_mismatches,
}


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, datetime) or (
        isinstance(expected, str) and isinstance(actual, str) and "T" in expected and "T" in actual
    ):
        try:
            wanted = (
                expected if isinstance(expected, datetime) else datetime.fromisoformat(expected)
            )
            return actual is not None and wanted == datetime.fromisoformat(actual)
        except ValueError:
            return False
    return bool(expected == actual)


def _matches(wanted: Mapping[str, Any], event: Mapping[str, str | None]) -> bool:
    return all(_same(value, event.get(key)) for key, value in wanted.items())


def _describe(event: Mapping[str, Any]) -> str:
    return " ".join(
        f"{k}={v.isoformat() if isinstance(v, datetime) else v}" for k, v in event.items()
    )
