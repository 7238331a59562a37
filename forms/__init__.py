"""Inbound adapters that turn what the pack declares into checked input.

Agents fill HTML forms built from the pack (the workspace, a later issue);
integrations send JSON to the REST API in `forms.api`. Both only parse,
call the engine and present its answer.
"""

from __future__ import annotations

from flask import current_app

from engine.services import Services

# Ids in URLs: positive and within a 64-bit column, so no path can overflow the database.
DB_ID = "int(min=1, max=9223372036854775807)"


def current_services() -> Services:
    """The engine's use cases the running app was built with (`wsgi.create_app`)."""
    service: Services = current_app.extensions["careloop"]
    return service
