"""Pack versions: publishing is immutable and never breaks the records already running.

A record keeps the version it started on until it closes. A publish that
would strand open records (their stage removed or renamed) is refused unless
a stage mapping says where they go; then they move, and their history says so.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotFound, PublishRefused
from engine.events import StageEntered
from engine.records.journal import SYSTEM
from engine.specs.pack import PackSpec
from engine.store.models import PackVersion, Record, RecordEvent
from engine.store.rowcache import RowCache

# How long another process's publish may go unseen by intake here: a record taken in on the
# version before is fine (records keep the version they started on, R-8.1); a publish in
# this process shows at once.
LATEST_TTL = 5.0


@dataclass(frozen=True)
class PackSource:
    """What a publish stores: the pack's files as written and their validated data."""

    name: str
    files: dict[str, str]
    data: dict[str, Any]
    source_hash: str


FILES = "files"  # published with `careloop publish` from a pack folder
ADMIN = "admin"  # published by operations staff in the admin


@dataclass(frozen=True)
class PublishResult:
    version: PackVersion
    created: bool
    moved: dict[tuple[str, str], int] = field(default_factory=dict)
    kept: bool = False  # keep_admin: the admin's version stays, the files were not published


class SpecCache:
    """Specs by version id: versions are immutable, so each is built once per process; and
    each pack's newest version, re-read at most every `LATEST_TTL` seconds (issue #24)."""

    def __init__(self) -> None:
        self._specs: dict[int, PackSpec] = {}
        self._numbers: dict[int, int] = {}
        self._lock = threading.Lock()
        self._latest: RowCache[str, PackVersion] = RowCache(PackVersion.__tablename__, LATEST_TTL)

    def latest(self, session: Session, pack: str) -> PackVersion:
        """`latest_version`, from the cache: the version row is immutable but for its
        bookkeeping columns, which intake does not read. It is handed out detached, so a
        rollback of the session that read it cannot expire it under other requests."""

        def load() -> PackVersion:
            version = latest_version(session, pack)
            session.expunge(version)
            return version

        return self._latest.get(pack, load)

    def get(self, session: Session, version_id: int) -> PackSpec:
        spec = self._specs.get(version_id)
        if spec is None:
            version = session.get(PackVersion, version_id)
            if version is None:
                raise NotFound(f"pack version {version_id} does not exist")
            spec = self.of(version)
        return spec

    def number(self, session: Session, version_id: int) -> int:
        """The version's number (v3), kept with its spec: an answer needs no version row."""
        self.get(session, version_id)
        return self._numbers[version_id]

    def of(self, version: PackVersion) -> PackSpec:
        with self._lock:
            if version.id not in self._specs:
                self._numbers[version.id] = version.version
                from engine.specs.build import build_pack_spec  # a version's first use (#24)

                spec, problems = build_pack_spec(version.data)
                if spec is None:
                    raise ValueError(
                        f"stored pack {version.pack} v{version.version} is invalid: "
                        f"{problems[0].message}"
                    )
                self._specs[version.id] = spec
            return self._specs[version.id]


def latest_versions(session: Session) -> list[PackVersion]:
    """The newest version of every published pack, by pack name."""
    newest = (
        select(PackVersion.pack, func.max(PackVersion.version).label("version"))
        .group_by(PackVersion.pack)
        .subquery()
    )
    return list(
        session.scalars(
            select(PackVersion)
            .join(
                newest,
                (PackVersion.pack == newest.c.pack) & (PackVersion.version == newest.c.version),
            )
            .order_by(PackVersion.pack)
        )
    )


def latest_version(session: Session, pack: str) -> PackVersion:
    version = session.scalars(
        select(PackVersion).where(PackVersion.pack == pack).order_by(PackVersion.version.desc())
    ).first()
    if version is None:
        raise NotFound(
            f"pack '{pack}' has not been published; run `careloop publish workflows/{pack}`"
        )
    return version


def publish(
    session: Session,
    source: PackSource,
    *,
    by: str,
    now: datetime,
    stage_map: Mapping[str, str] | None = None,
    note: str | None = None,
    origin: str = FILES,
    keep_admin: bool = False,
) -> PublishResult:
    """Store a new immutable version, unless it is identical to the newest one.

    `origin` says where the source comes from (FILES or ADMIN). With `keep_admin` (a server's
    start), files are not published over a newest version that their folder never held, that
    is one published in the admin since the files were last published (issue #22 item 3).
    """
    current = session.scalars(
        select(PackVersion)
        .where(PackVersion.pack == source.name)
        .order_by(PackVersion.version.desc())
        .limit(1)
    ).first()
    if current is not None:
        same = _same_or_kept(current, source, origin=origin, keep_admin=keep_admin, now=now)
        if same is not None:
            return same
    from engine.specs.build import build_pack_spec  # the builder: not before a first spec

    spec, problems = build_pack_spec(source.data)
    if spec is None:
        raise InvalidInput(f"pack {source.name} is invalid: {problems[0].message}")
    stranded = stranded_records(session, source.name, spec)
    moves = _resolve_moves(spec, stranded, stage_map or {})
    unmapped = {key: n for key, n in stranded.items() if key not in moves}
    if unmapped:
        raise PublishRefused(source.name, unmapped)
    version = PackVersion(
        pack=source.name,
        version=(current.version + 1) if current else 1,
        files=source.files,
        data=source.data,
        source_hash=source.source_hash,
        published_by=by,
        published_at=now,
        note=note,
        origin=origin,
        files_at=now if origin == FILES else None,
    )
    session.add(version)
    session.flush()
    for (rtype, old_stage), new_stage in moves.items():
        _move(session, spec, version, rtype, old_stage, new_stage, by, now)
    return PublishResult(version, created=True, moved={k: stranded[k] for k in moves})


def _same_or_kept(
    current: PackVersion, source: PackSource, *, origin: str, keep_admin: bool, now: datetime
) -> PublishResult | None:
    """No new version: the source is the newest version's, or a start keeps the admin's."""
    if current.source_hash == source.source_hash:
        if origin == FILES:
            current.files_at = now  # the folder holds the live version (again)
        return PublishResult(current, created=False)
    if keep_admin and current.files_at is None:
        return PublishResult(current, created=False, kept=True)
    return None


def stranded_records(session: Session, pack: str, spec: PackSpec) -> dict[tuple[str, str], int]:
    """Open records whose record type or stage the new spec no longer has, counted per stage."""
    rows = session.execute(
        select(Record.record_type, Record.stage, func.count())
        .where(Record.pack == pack, Record.is_open.is_(True))
        .group_by(Record.record_type, Record.stage)
    )
    return {
        (rtype, stage): count
        for rtype, stage, count in rows
        if rtype not in spec.record_types or stage not in spec.record_types[rtype].stages
    }


def _resolve_moves(
    spec: PackSpec, stranded: Mapping[tuple[str, str], int], stage_map: Mapping[str, str]
) -> dict[tuple[str, str], str]:
    """Read `type.stage=new` or `stage=new` mappings; ignore targets the new spec lacks."""
    moves = {}
    for rtype, stage in stranded:
        target = stage_map.get(f"{rtype}.{stage}", stage_map.get(stage))
        if target and rtype in spec.record_types and target in spec.record_types[rtype].stages:
            moves[(rtype, stage)] = target
    return moves


def _move(
    session: Session,
    spec: PackSpec,
    version: PackVersion,
    rtype: str,
    old_stage: str,
    new_stage: str,
    by: str,
    now: datetime,
) -> None:
    """Move every open record of one stranded stage to the new version, set-based, with history."""
    stage = spec.record_types[rtype].stages[new_stage]
    entered = StageEntered(new_stage, {"pack_version": version.version}, via="migrated")
    which = (
        Record.pack == version.pack,
        Record.record_type == rtype,
        Record.stage == old_stage,
        Record.is_open.is_(True),
    )
    session.execute(
        insert(RecordEvent).from_select(
            ["record_id", "at", "actor", "kind", "transition", "from_stage", "to_stage", "changes"],
            select(
                Record.id,
                literal(now, RecordEvent.at.type),
                literal(by or SYSTEM),
                literal(entered.kind),
                literal(entered.transition),
                Record.stage,
                literal(entered.to_stage),
                literal(entered.changes(), RecordEvent.changes.type),
            ).where(*which),
        )
    )
    session.execute(
        update(Record)
        .where(*which)
        .values(
            pack_version_id=version.id,
            stage=new_stage,
            stage_kind=stage.kind,
            is_open=not stage.is_closed,
            row_version=Record.row_version + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
