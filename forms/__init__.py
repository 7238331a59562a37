"""The agents' desk: the work queue, the record page with forms built from the pack,
the customer's view and the knowledge pages agents read while they answer.
"""

from __future__ import annotations

from flask import Flask

from forms import attachments, canned, deadlines, kb_pages, newrecord, thread, views

# Imported for the routes they add to `views.bp` (the queue page, its export and actions;
# merging two records, who else is on a record; the record page's corrections, tags and
# followers; the followers' notices).
from forms import (  # noqa: F401  # isort: skip
    merge,
    notices,
    presence,
    queueactions,
    queuepage,
    recordactions,
)


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(kb_pages.bp)
    app.register_blueprint(thread.bp)
    app.register_blueprint(deadlines.bp)
    app.register_blueprint(newrecord.bp)
    app.register_blueprint(canned.bp)
    app.register_blueprint(attachments.bp)
