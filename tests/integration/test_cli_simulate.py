"""`careloop simulate` pins the default pack's SLA arithmetic in virtual time (R-2.4, R-2.8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import careloop

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
SCENARIOS = WORKFLOWS / "after_sales" / "scenarios"


def simulate(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(careloop, ["simulate", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.mark.parametrize(
    "scenario",
    sorted(WORKFLOWS.glob("*/scenarios/*.yaml")),
    ids=lambda p: f"{p.parent.parent.name}/{p.stem}",
)
def test_each_shipped_scenario_meets_its_expectations(scenario: Path) -> None:
    code, output = simulate(str(scenario))
    assert code == 0, output


def test_json_output_is_one_object_with_records_and_events() -> None:
    code, output = simulate(str(SCENARIOS / "p1_across_weekend.yaml"), "--json")
    assert code == 0, output
    result = json.loads(output)
    washer = result["records"]["washer"]
    assert washer["stage"] == "in_progress"
    # P1 respond 4 working hours from Friday 16:00 is Monday 11:00 (Asia/Shanghai).
    assert washer["deadlines"]["respond"] == "2026-11-23T11:00:00+08:00"
    assert washer["deadlines"]["resolve"] == "2026-11-25T16:00:00+08:00"
    kinds = [(e["at"], e["kind"]) for e in result["events"] if e["ref"] == "washer"]
    assert ("2026-11-23T10:12:00+08:00", "sla.respond.warning") in kinds
    assert ("2026-11-23T10:30:00+08:00", "sla.respond.met") in kinds
    assert ("2026-11-25T16:00:00+08:00", "sla.resolve.breached") in kinds
    # A customer contact also says which, on what channel, or why it was skipped.
    assert all(e.keys() >= {"at", "ref", "kind"} for e in result["events"])
    assert all(
        e.keys() == {"at", "ref", "kind"} for e in result["events"] if e["kind"][:8] != "contact."
    )


def test_a_failed_expectation_names_its_line_and_exits_1(tmp_path: Path) -> None:
    text = (SCENARIOS / "p1_national_day.yaml").read_text(encoding="utf-8")
    text = text.replace("respond: 2026-10-08T10:00:00+08:00", "respond: 2026-10-08T11:00:00+08:00")
    (tmp_path / "wrong.yaml").write_text(text.replace("pack: ..", f"pack: {SCENARIOS.parent}"))
    code, output = simulate(str(tmp_path / "wrong.yaml"))
    assert code == 1
    assert "fridge.deadlines.respond is 2026-10-08T10:00:00+08:00, expected" in output


HEADER = "pack: {pack}\nstart: 2026-11-23T09:00:00+08:00\nuntil: 2026-11-24T09:00:00+08:00\n"


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        (
            "pack: {pack}\nstart: 2026-11-23T09:00:00+08:00\n"
            "until: 2026-11-24T09:00:00\nsteps: []\n",
            3,
            "'until' has no timezone offset",
        ),
        (
            HEADER + "steps:\n  - at: 2026-11-23T10:00:00+08:00\n"
            "    transition: {{ref: ghost, to: closed}}\n",
            5,
            "unknown ref 'ghost'",
        ),
        (
            HEADER + "steps:\n  - at: 2026-11-23T10:00:00+08:00\n"
            "    create: {{ref: a, type: feedback, channel: phone,"
            " fields: {{customer_no: C1, contact: '1', description: x}}}}\n"
            "  - at: 2026-11-23T11:00:00+08:00\n    transition: {{ref: a, to: closed}}\n",
            7,
            "no single transition from 'pending' to 'closed'",
        ),
        (
            HEADER + "stpes: []\n",
            4,
            "unknown key 'stpes'",
        ),
        (
            HEADER + "steps:\n  - at: 2026-11-23T10:00:00+08:00\n    reply: {{ref: a}}\n",
            6,
            "missing 'text'",
        ),
        ("pack: {pack}\nstart: [oops\n", 3, "invalid YAML"),
        (
            HEADER + "steps:\n  - at: 2026-11-23T10:00:00+08:00\n"
            "    answer: {{ref: a, via: link, score: five}}\n",
            6,
            "'score' must be a int",
        ),
        (  # the default pack asks NPS: an answer without it is refused
            HEADER + "steps:\n  - at: 2026-11-23T10:00:00+08:00\n"
            "    create: {{ref: a, type: feedback, channel: phone,"
            " fields: {{customer_no: C1, contact: '1', description: x}}}}\n"
            "  - at: 2026-11-23T10:10:00+08:00\n"
            "    transition: {{ref: a, to: solve_on_spot, fields: {{solution: y}}}}\n"
            "  - at: 2026-11-23T11:00:00+08:00\n    answer: {{ref: a, via: link, score: 5}}\n",
            9,
            "the answer does not fit: nps",
        ),
    ],
)
def test_a_bad_scenario_is_file_line_message(
    tmp_path: Path, body: str, line: int, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(body.format(pack=SCENARIOS.parent), encoding="utf-8")
    code, output = simulate(str(path))
    assert code == 1
    assert f"{path}:{line}: " in output and message in output, output


def test_an_agents_reply_in_a_scenario_spares_the_next_progress_message(tmp_path: Path) -> None:
    """R-3.2: a `reply` step is an agent writing to the customer, so the progress contact
    due within `unless_replied_within` (24 h) is skipped as `replied`; the next one goes out."""
    body = (
        "pack: {pack}\nstart: 2026-11-23T09:00:00+08:00\nuntil: 2026-11-25T12:00:00+08:00\n"
        "customers:\n  - {{number: C-1, name: 王芳, contact: wang.fang@example.com}}\n"
        "steps:\n  - at: 2026-11-23T09:00:00+08:00\n    create: {{ref: a, type: feedback,"
        " channel: email, priority: P1, fields: {{customer_no: C-1,"
        " contact: wang.fang@example.com, description: 冰箱不制冷}}}}\n"
        "  - at: 2026-11-23T09:30:00+08:00\n"
        "    transition: {{ref: a, to: accept, fields: {{category: quality, priority: P1}}}}\n"
        "  - at: 2026-11-23T17:00:00+08:00\n    reply: {{ref: a, text: 师傅明天上门}}\n"
    )
    path = tmp_path / "reply.yaml"
    path.write_text(body.format(pack=SCENARIOS.parent), encoding="utf-8")
    code, output = simulate(str(path), "--json")
    assert code == 0, output
    progress = [
        (e["at"], e["kind"], e.get("reason"))
        for e in json.loads(output)["events"]
        if e.get("contact") == "progress"
    ]
    assert progress == [
        ("2026-11-24T09:30:00+08:00", "contact.skipped", "replied"),
        ("2026-11-25T09:30:00+08:00", "contact.sent", None),
    ]
