"""How records look to people: SLA state and countdown, masked fields, local times.

Words here go through the catalog (gettext, or lazy_gettext for the tables read at import), so
an English user reads the history and countdowns in English; outside a request they stay in
Chinese, the source language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.access.masking import masked_fields
from engine.records.personal import all_fields
from engine.specs.pack import PackSpec, RecordTypeSpec
from engine.store.models import Record, SlaClock


@dataclass(frozen=True)
class SlaView:
    """One record's SLA at a glance: state (colour), nearest deadline, seconds left."""

    state: str  # on_track | warning | breached | paused | met | none
    deadline: datetime | None
    seconds_left: int | None


def clock_state(clock: SlaClock, now: datetime) -> str:
    if clock.met_at is not None:
        return "met"
    if clock.breached_at is not None or (clock.deadline is not None and clock.deadline <= now):
        return "breached"
    if clock.running_since is None:
        return "paused"
    if clock.warned_at is not None or (clock.warning_at is not None and clock.warning_at <= now):
        return "warning"
    return "on_track"


def sla_view(record: Record, now: datetime) -> SlaView:
    states = [clock_state(c, now) for c in record.clocks]
    for state in ("breached", "warning", "on_track", "paused", "met"):
        if state in states:
            break
    else:
        return SlaView("none", None, None)
    deadline = record.next_deadline
    left = int((deadline - now).total_seconds()) if deadline is not None else None
    return SlaView(state, deadline, left)


def countdown(seconds: int | None) -> str:
    """剩余 2小时05分 / 超时 1小时10分, short enough for a queue row."""
    if seconds is None:
        return "—"
    late = seconds < 0
    minutes = abs(seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [_("%(days)d天", days=days)] if days else []
    if hours or days:
        parts.append(_("%(hours)d小时", hours=hours))
    parts.append(_("%(minutes)02d分", minutes=mins))
    text = "".join(parts).strip()  # English units carry their own spaces
    return str(_("超时 %(time)s", time=text) if late else _("剩余 %(time)s", time=text))


def shown_fields(
    rtype: RecordTypeSpec | None, record: Record, reveal: bool
) -> list[dict[str, Any]]:
    """The record's fields in pack order with their labels, personal ones masked."""
    if rtype is None:
        # The type (so which values are personal) is unknown: only the plain half is shown.
        return [{"label": k, "value": v, "personal": False} for k, v in record.fields.items()]
    stored = all_fields(record)
    values = stored if reveal else masked_fields(rtype, stored)
    return [
        {
            "label": spec.label,
            "value": values.get(name),
            "personal": spec.is_personal,
            "choices": spec.choices,
        }
        for name, spec in rtype.fields.items()
        if values.get(name) not in (None, "")
    ]


def tier_titles(specs: Iterable[PackSpec]) -> dict[str, str]:
    """Each tier key the packs define with its title (高价值客户, not high_value)."""
    return {key: tier.title for spec in specs for key, tier in spec.tiers.items()}


ROLES = {"agent": _l("坐席"), "supervisor": _l("主管"), "operations": _l("运营")}
_SLA_WORDS = {
    "warning": _l("预警"),
    "breached": _l("超时"),
    "met": _l("达成"),
    "paused": _l("暂停"),
    "resumed": _l("恢复计时"),
    "stopped": _l("停止"),
    "escalated": _l("升级"),
    "replanned": _l("重新计算"),
    "extended": _l("延期"),
}
# Why a promised contact was not sent (engine.events.contacts.SKIP_REASONS).
_SKIPPED = {
    "no_customer": _l("无客户"),
    "no_consent": _l("客户未同意接收服务消息"),
    "replied": _l("坐席已联系过客户"),
    "moved_on": _l("记录已进入其他阶段"),
    "unreachable": _l("无法通过该渠道送达"),
}
_OTHER = {
    "assigned": _l("分派"),
    "note": _l("备注"),
    "message.in": _l("客户消息"),
    "message.out": _l("回复客户"),
    "message.bounced": _l("回复退信"),
    "message.resent": _l("重新发送回复"),
    "satisfaction.answered": _l("满意度评价"),
    "attachment.added": _l("上传附件"),
}


def event_label(
    kind: str, rtype: RecordTypeSpec | None, changes: Mapping[str, Any] | None = None
) -> str:
    """A history event in words: 进入「处理中」, 首次响应 预警, 跟进：进度更新,
    已告知客户：受理确认, 未告知客户：进度告知（坐席已联系过客户）."""
    head, _dot, rest = kind.partition(".")
    said: Mapping[str, Any] = changes or {}
    if head == "contact":
        return _contact_label(rest, rtype, said)
    if head == "stage" and rtype is not None and rest in rtype.stages:
        return _stage_label(rtype.stages[rest].title, said)
    if head == "sla" and rtype is not None and rtype.sla is not None:
        target, _dot, what = rest.partition(".")
        title = rtype.sla.targets[target].title if target in rtype.sla.targets else target
        return f"{title} {_SLA_WORDS.get(what, what)}"
    if head == "followup" and rtype is not None and rest in rtype.followups:
        return str(_("跟进：%(title)s", title=rtype.followups[rest].title))
    if kind in _DESK:
        return _DESK[kind](rtype, changes or {})
    return str(_OTHER.get(kind, kind))


def _stage_label(title: str, changes: Mapping[str, Any]) -> str:
    """进入「已关闭」, or for a record closed as merged 合并到 #12，进入「已关闭」 (issue #21)."""
    entered = str(_("进入「%(stage)s」", stage=title))
    merged_into = changes.get("merged_into")
    if merged_into:
        return str(_("合并到 #%(id)s，%(entered)s", id=merged_into, entered=entered))
    return entered


def _edited(rtype: RecordTypeSpec | None, changes: Mapping[str, Any]) -> str:
    fields = rtype.fields if rtype is not None else {}
    names = "、".join(fields[n].label if n in fields else n for n in changes)
    return str(_("修改字段：%(fields)s", fields=names))


def _regraded(_rtype: RecordTypeSpec | None, changes: Mapping[str, Any]) -> str:
    old, new = (list(changes.get("priority") or []) + [None, None])[:2]
    return str(_("调整优先级：%(old)s → %(new)s", old=old or "—", new=new or "—"))


def _to_team(_rtype: RecordTypeSpec | None, changes: Mapping[str, Any]) -> str:
    team = changes.get("title") or changes.get("team") or ""
    return str(_("转交「%(team)s」的队列", team=team))


def _retagged(_rtype: RecordTypeSpec | None, changes: Mapping[str, Any]) -> str:
    return str(_("标签：%(change)s", change=_plus_minus(changes)))


def _refollowed(_rtype: RecordTypeSpec | None, changes: Mapping[str, Any]) -> str:
    return str(_("关注人：%(change)s", change=_plus_minus(changes)))


def _merged_here(_rtype: RecordTypeSpec | None, changes: Mapping[str, Any]) -> str:
    """The survivor's side of a merge (issue #21)."""
    return str(_("合并了记录 #%(id)s", id=changes.get("merged", "")))


def _plus_minus(changes: Mapping[str, Any]) -> str:
    return " ".join(
        [f"+{name}" for name in changes.get("added", [])]
        + [f"−{name}" for name in changes.get("removed", [])]
    )


def _confirmed(_rtype: RecordTypeSpec | None, _changes: Mapping[str, Any]) -> str:
    """The customer confirmed the solution on their tracking page (issue #23, R-3.2)."""
    return str(_("客户已确认解决方案"))


# The record page's own events (issue #21, item 2), with what changed.
_DESK: dict[str, Callable[[RecordTypeSpec | None, Mapping[str, Any]], str]] = {
    "record.merged": _merged_here,
    "fields.edited": _edited,
    "priority.changed": _regraded,
    "team.assigned": _to_team,
    "tags.changed": _retagged,
    "followers.changed": _refollowed,
    "solution.confirmed": _confirmed,
}


def _contact_label(what: str, rtype: RecordTypeSpec | None, changes: Mapping[str, Any]) -> str:
    name = str(changes.get("contact", ""))
    contact = rtype.contacts.get(name) if rtype is not None else None
    title = contact.title if contact is not None else name
    if what == "sent":
        return str(_("已告知客户：%(title)s", title=title))
    reason = str(changes.get("reason", ""))
    why = _SKIPPED.get(reason, reason)
    return str(_("未告知客户：%(title)s（%(reason)s）", title=title, reason=why))


def local(moment: datetime | None, tz: str) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
