"""Who else is on a record's page (issue #21 item 2): the heartbeat of `web/static/presence.js`.

The page posts here every ~20 s; the answer names the others whose page beat within the last
minute, in a sentence in the reader's language, so two agents do not answer one customer twice.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.views import _visible, bp
from web import DB_ID
from web import current_services as services


@bp.post(f"/records/<{DB_ID}:record_id>/presence")
@login_required  # type: ignore[untyped-decorator]
def presence(record_id: int) -> Any:
    """Stamp the signed-in user on the record; answer with the others there."""
    with services().uow() as uow:
        _visible(uow.session, record_id)
    others = services().viewing(record_id, current_user.username)
    return jsonify({"others": others, "text": sentence(others)})


def sentence(others: list[str]) -> str:
    """'张三 也在查看此记录' / 'Zhang San is also viewing this record'; empty for nobody."""
    if not others:
        return ""
    if len(others) == 1:
        return str(_("%(name)s 也在查看此记录", name=others[0]))
    return str(_("%(names)s 也都在查看此记录", names=str(_("、")).join(others)))
