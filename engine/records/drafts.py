"""Drafts of packs and what publishing one would do to the records already running."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.records.versions import stranded_records
from engine.specs.pack import PackSpec
from engine.store.models import PackDraft, PackVersion, Record


def get_draft(session: Session, pack: str) -> PackDraft | None:
    return session.get(PackDraft, pack)


def save_draft(
    session: Session,
    pack: str,
    files: Mapping[str, str],
    base_version: int | None,
    by: str,
    now: datetime,
) -> PackDraft:
    draft = session.get(PackDraft, pack)
    if draft is None:
        draft = PackDraft(
            pack=pack, files={}, base_version=base_version, updated_by=by, updated_at=now
        )
        session.add(draft)
    draft.files, draft.updated_by, draft.updated_at = dict(files), by, now
    draft.base_version = base_version
    return draft


def discard_draft(session: Session, pack: str) -> None:
    draft = session.get(PackDraft, pack)
    if draft is not None:
        session.delete(draft)


@dataclass(frozen=True)
class Impact:
    """Open records per version (they stay on it), and those a publish would strand."""

    open_by_version: dict[int, int]
    stranded: dict[tuple[str, str], int]

    @property
    def staying(self) -> int:
        return sum(self.open_by_version.values())


def impact(session: Session, pack: str, spec: PackSpec) -> Impact:
    rows = session.execute(
        select(PackVersion.version, func.count(Record.id))
        .join(Record, Record.pack_version_id == PackVersion.id)
        .where(PackVersion.pack == pack, Record.is_open.is_(True))
        .group_by(PackVersion.version)
    )
    return Impact(dict(rows.all()), stranded_records(session, pack, spec))
