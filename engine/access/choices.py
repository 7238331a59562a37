"""Closed vocabularies the engine checks and the `careloop` commands offer as choices.

Here, importing nothing, because click reads a command's choices when the command is defined:
kept beside the ORM code that checks them, they made `careloop --help` import SQLAlchemy and
every model (issue #24 item 2). The engine modules re-export them under their old names.
"""

from __future__ import annotations

ROLES = ("agent", "supervisor", "operations")
LOCALES = ("zh", "en")
SCOPES = ("read", "write", "personal")  # personal: may see personal data unmasked
ASSIGN_METHODS = ("pull", "round_robin", "least_open")
