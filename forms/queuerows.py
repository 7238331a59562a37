"""A queue row as people read it, on the page and in the export: labels, subject, excerpt.

The subject is the record's own `subject` field (a mail's) or the first line of its
description, at most 40 characters; the excerpt the description on one line, at most 80.
Both come from the fields with every personal field masked (R-1.2, R-8.3), and a run of
seven or more digits typed into free text (a phone, an ID number) is masked too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from dashboard.export import Cell
from engine.access.masking import mask_contact, masked_fields
from engine.specs.pack import PackSpec, RecordTypeSpec
from engine.store.models import Record
from forms.present import SlaView, local, sla_view

SUBJECT_CHARS, EXCERPT_CHARS = 40, 80
DIGIT_RUN = re.compile(r"\d[\d -]{5,}\d")


@dataclass(frozen=True)
class Row:
    record: Record
    spec: PackSpec
    sla: SlaView
    subject: str
    excerpt: str

    @property
    def rtype(self) -> RecordTypeSpec | None:
        return self.spec.record_types.get(self.record.record_type)

    @property
    def stage(self) -> str:
        rtype = self.rtype
        if rtype is not None and self.record.stage in rtype.stages:
            return rtype.stages[self.record.stage].title
        return self.record.stage


def row_of(record: Record, spec: PackSpec, now: datetime) -> Row:
    subject, excerpt = subject_and_excerpt(spec.record_types.get(record.record_type), record.fields)
    return Row(record, spec, sla_view(record, now), subject, excerpt)


def subject_and_excerpt(rtype: RecordTypeSpec | None, fields: Mapping[str, Any]) -> tuple[str, str]:
    """Both texts, masked; none for a record whose type (and so its personal fields) is unknown."""
    if rtype is None:
        return "", ""
    shown = masked_fields(rtype, fields)
    description = _text(shown.get("description"))
    subject = _text(shown.get("subject")) or description.strip().split("\n", 1)[0]
    return _cut(_scrub(subject), SUBJECT_CHARS), _cut(
        _scrub(" ".join(description.split())), EXCERPT_CHARS
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _scrub(text: str) -> str:
    return DIGIT_RUN.sub(lambda m: mask_contact(m.group()), text)


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sla_label(state: str) -> str:
    """The SLA state in the user's language, as the record page words it."""
    words = {
        "on_track": _("按时"),
        "warning": _("预警"),
        "breached": _("已超时"),
        "paused": _("已暂停"),
        "met": _("已达成"),
        "none": _("无 SLA"),
    }
    return str(words.get(state, state))


def export_header() -> list[Cell]:
    return [
        "#",
        _("主题"),
        _("描述摘要"),
        _("客户"),
        _("类型"),
        _("阶段"),
        _("优先级"),
        _("渠道"),
        _("类别"),
        _("部门"),
        _("负责人"),
        _("标签"),
        _("收到时间"),
        _("截止时间"),
        _("SLA"),
    ]


def export_cells(row: Row, tz: str, owner: str | None, tags: Sequence[str]) -> list[Cell]:
    """One spreadsheet line: labels rather than keys, the owner's name, the tags, times in the
    user's zone to the minute."""
    r, spec, rtype = row.record, row.spec, row.rtype
    return [
        r.id,
        row.subject,
        row.excerpt,
        r.customer.number if r.customer else None,
        rtype.title if rtype else r.record_type,
        row.stage,
        r.priority,
        _title(spec.channels, r.channel),
        _title(spec.categories, r.category),
        _title(spec.departments, r.department),
        owner,
        ", ".join(tags),
        local(r.received_at, tz),
        local(r.next_deadline, tz),
        sla_label(row.sla.state),
    ]


def _title(options: Mapping[str, Any], key: str | None) -> str | None:
    if key is None:
        return None
    return str(options[key].title) if key in options else key


def rows_of(records: Sequence[Record], specs: Mapping[int, PackSpec], now: datetime) -> list[Row]:
    return [row_of(r, specs[r.pack_version_id], now) for r in records]
