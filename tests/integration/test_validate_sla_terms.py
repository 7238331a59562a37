"""`careloop validate` points at an SLA term no record can reach, and at the terms when some
record gets no term for a target, with the fix (issue #25, R-2.5)."""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_cli_validate import broken_pack, position, validate

POLICIES = """      policies:
        P0:
          respond: {within: 2h, calendar: 24x7}
          resolve: {within: 24h, calendar: 24x7}
        P1:
          respond: {within: 4 working hours, calendar: cn_workdays}
          resolve: {within: 3 working days, calendar: cn_workdays}
        P2:
          respond: {within: 8 working hours, calendar: cn_workdays}
          resolve: {within: 5 working days, calendar: cn_workdays}
"""
TERMS = """      terms:
        - name: chat
          when: {channel: [online_chat, wechat]}
          respond: {within: 15m, calendar: 24x7}
        - name: any_call
          when: {channel: phone}
          respond: {within: 3m, calendar: 24x7}
        - name: late_call
          when: {channel: phone, priority: P2}
          respond: {within: 1m, calendar: 24x7}
        - name: by_priority
          respond: {within: 4 working hours, calendar: cn_workdays}
          resolve: {within: 3 working days, calendar: cn_workdays}
"""


def test_an_unreachable_term_is_reported_at_its_line_with_the_fix(tmp_path: Path) -> None:
    folder = broken_pack(tmp_path, "feedback.yaml", POLICIES, TERMS)
    code, output = validate(folder)
    assert code == 1, output
    line, column = position(folder, "feedback.yaml", "- name: late_call")
    assert (
        f"feedback.yaml:{line}:{column + 2}: SLA term 'late_call' can never apply: 'any_call' "
        "comes first and matches every record it would (channel in [phone])"
    ) in output
    assert "move it above 'any_call', or narrow the `when` of 'any_call'" in output


def test_records_no_term_covers_are_reported_with_the_fix(tmp_path: Path) -> None:
    uncovered = TERMS.replace(
        "        - name: by_priority\n",
        "        - name: by_priority\n          when: {priority: [P1, P2]}\n",
    )
    folder = broken_pack(tmp_path, "feedback.yaml", POLICIES, uncovered)
    code, output = validate(folder)
    assert code == 1, output
    line, column = position(folder, "feedback.yaml", "- name: chat")  # the list begins there
    assert f"feedback.yaml:{line}:{column}: a record with channel 'email', priority 'P0'" in output
    assert "gets no 'resolve' term" in output and "priority 'P0'" in output
    assert "add a last term without `when` that sets 'resolve'" in output


def test_a_loyalty_level_the_programme_lacks_is_reported(tmp_path: Path) -> None:
    """`loyalty_level` names the pack's levels (R-5.4); a level it lacks is an error, not a
    term that silently never applies."""
    levels = TERMS.replace(
        "        - name: chat\n",
        "        - name: platinum\n          when: {loyalty_level: platinum}\n"
        "          respond: {within: 1h, calendar: 24x7}\n        - name: chat\n",
    )
    folder = broken_pack(tmp_path, "feedback.yaml", POLICIES, levels)
    code, output = validate(folder)
    assert code == 1, output
    line, _column = position(folder, "feedback.yaml", "when: {loyalty_level: platinum}")
    assert f"feedback.yaml:{line}:" in output
    assert "unknown loyalty_level 'platinum' (known: gold, member, silver)" in output
