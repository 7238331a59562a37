"""Pages the customer opens without an account: the satisfaction survey behind a signed link
(R-3.3).
"""

from __future__ import annotations

from flask import Flask

from portal.survey import bp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
