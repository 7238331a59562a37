"""`/`: one front door that sends each person to their work, and everyone else to sign in.

An agent's work is the queue, a supervisor's the service dashboard (the queue is one click
away in the header), operations staff's the admin. The packs' status page for operators and
their monitors lives at /status (ops/status.py).
"""

from __future__ import annotations

from flask import Flask, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

# Where each role starts its day; any role not listed starts at the queue.
START = {"supervisor": "dashboard.dashboard", "operations": "admin.index"}


def home() -> Response:
    """Redirect to the signed-in role's start page, or to sign-in."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.sign_in"))
    return redirect(url_for(START.get(current_user.role, "desk.queue")))


def init_app(app: Flask) -> None:
    app.add_url_rule("/", "home", home)
