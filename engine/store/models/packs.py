"""Published pack versions and the drafts staff edit: every record is pinned to one version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models.base import Model


class PackVersion(Model):
    """An immutable published version of a pack: its YAML files, their data and who published it."""

    __tablename__ = "pack_versions"
    __table_args__ = (UniqueConstraint("pack", "version", name="uq_pack_versions_pack_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pack: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int]
    files: Mapped[dict[str, Any]]
    data: Mapped[dict[str, Any]]
    source_hash: Mapped[str] = mapped_column(String(64))
    published_by: Mapped[str] = mapped_column(String(128))
    published_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(String(500))
    # Provenance (issue #22 item 3): "files" (`careloop publish`, its digest is source_hash) or
    # "admin" (operations staff in the admin). files_at: when the pack's folder last held this
    # version (published from it, or found identical to it): the one bookkeeping field that
    # changes on an immutable version. Starting the server publishes files over the newest
    # version only when files_at is set, so what the admin published stays the live version.
    origin: Mapped[str] = mapped_column(String(16), default="files")
    files_at: Mapped[datetime | None]


class PackDraft(Model):
    """The next version of a pack as operations staff edit it, before it is published."""

    __tablename__ = "pack_drafts"

    pack: Mapped[str] = mapped_column(String(64), primary_key=True)
    files: Mapped[dict[str, Any]]
    base_version: Mapped[int | None]
    updated_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime]
