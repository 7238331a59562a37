"""Signing in for everyone who works in Careloop: sessions, roles, CSRF and cookies.

Agents, supervisors and operations staff sign in here; integrations use API tokens (`api`).
"""

from __future__ import annotations

from signin.auth import csrf, init_app

__all__ = ["csrf", "init_app"]
