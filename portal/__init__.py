"""Pages the customer opens without an account: the satisfaction survey behind a signed link
(R-3.3) and the chat box that answers 7×24 (issue #23).
"""

from __future__ import annotations

from flask import Flask

from portal import chat
from portal.survey import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(chat.bp)
