"""Pages the customer opens without an account: the satisfaction survey behind a signed link
(R-3.3) and the customer portal under `/help/<pack>` (issue #23): help articles, the web form,
the tracking page and the chat box that answers 7×24, in the shop's name and colours.
"""

from __future__ import annotations

from flask import Flask

# The portal's views add themselves to `theme.bp` when their modules are imported.
from portal import chat, kb, tracking, webform
from portal.survey import bp
from portal.theme import assets
from portal.theme import bp as help_bp

__all__ = ["chat", "init_app", "kb", "tracking", "webform"]


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(help_bp)
    app.register_blueprint(assets)
