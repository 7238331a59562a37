"""通知 / Notices (issue #21, item 2): what happened to the records a user follows.

The header shows how many are unseen (read with the signed-in user, `signin.auth.Account`);
the page lists the newest, on records the user may still see (the queue's rule, in the same
statement), and marks them seen.
"""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_babel import gettext as _
from flask_login import login_required

from engine.access.users import display_names
from engine.records import finder, followers
from engine.records.finder import Finder
from engine.specs.pack import RecordTypeSpec
from forms.present import event_label
from forms.queuerows import subject_and_excerpt
from forms.thread import masked_actor
from forms.views import _tz, bp, me
from web import current_services as services

PAGE = 50


@bp.get("/me/notices", endpoint="notices")
@login_required  # type: ignore[untyped-decorator]
def notices_page() -> Any:
    now = services().clock.now()
    with services().uow() as uow:
        user = me(uow.session)
        visible = finder.conditions(user, Finder(is_open=None), now)  # who may see, alone
        found = followers.notices(uow.session, user, visible, limit=PAGE)
        names = display_names(uow.session, [p for n, _r in found for p in _people(n.detail)])
        rows = []
        for notice, record in found:
            spec = services().specs.get(uow.session, record.pack_version_id)
            rtype = spec.record_types.get(record.record_type)
            actor = str(notice.detail.get("actor", ""))
            rows.append(
                {
                    "notice": notice,
                    "record": record,
                    "what": _what(notice.detail, rtype, names),
                    "subject": subject_and_excerpt(rtype, record.fields)[0],
                    "who": names.get(actor) or masked_actor(actor),  # a customer: masked
                    "new": notice.delivered_at is None,
                }
            )
        followers.mark_seen(uow.session, user.id, now)
        uow.commit()
    return render_template("desk/notices.html", rows=rows, tz=_tz())


def _what(detail: dict[str, Any], rtype: RecordTypeSpec | None, names: dict[str, str]) -> str:
    """The event in words; a new owner by name (分派给 陈静), as the owner column reads."""
    kind, changes = str(detail.get("kind", "")), detail.get("changes") or {}
    if kind == "assigned":
        owner = _owner(changes)
        if not owner:
            return str(_("取消分派"))
        return str(_("分派给 %(name)s", name=names.get(owner, owner)))
    return event_label(kind, rtype, changes)


def _owner(changes: dict[str, Any]) -> str | None:
    """The new owner an `assigned` event names ({"assignee": [old, new]})."""
    pair = changes.get("assignee") or [None, None]
    return pair[-1] if isinstance(pair, list) and pair else None


def _people(detail: dict[str, Any]) -> list[str | None]:
    return [detail.get("actor"), _owner(detail.get("changes") or {})]
