"""The entry point: `wsgi:app` for gunicorn, and `flask --app wsgi` with the `careloop` group.

Imported by no product module (tests/unit/test_settings.py… and test_cli_package check it):
the web app is assembled in webapp.py, the commands live in cli/, and this file joins them.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from cli import careloop
from ops.settings import Settings
from webapp import create_app as create_web_app
from webapp import services

__all__ = ["create_app", "services"]


def create_app(
    test_config: dict[str, Any] | None = None, settings: Settings | None = None
) -> Flask:
    """The web app (webapp.py), with the `careloop` commands for `flask --app wsgi careloop`."""
    app = create_web_app(test_config, settings)
    app.cli.add_command(careloop)
    return app


def __getattr__(name: str) -> Flask:
    """`wsgi:app` for gunicorn and `flask --app wsgi`, built on first use, not at import."""
    if name == "app":
        return create_app()
    raise AttributeError(name)
