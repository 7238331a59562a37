"""A year's official schedule into a pack's draft: the CLI's `careloop calendar load` and the
admin's upload share this, so both leave the same draft to review, rehearse and publish. And
the warnings of the published packs, for the scheduler's status and the /status page.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from engine.records import drafts
from engine.records.versions import latest_version, latest_versions
from engine.time.officialdays import OfficialSchedule
from workflows.calendars import CoverageWarning, apply_schedule, published_warnings
from workflows.errors import PackError, PackInvalid
from workflows.loader import load_pack_from_files
from workflows.validate import pack_errors


@dataclass(frozen=True)
class LoadResult:
    """What loading did: the diff against the files it started from, and new pack errors."""

    diff: str
    problems: list[str] = field(default_factory=list)


def load_into_draft(
    session: Session,
    pack: str,
    calendar: str,
    schedule: OfficialSchedule,
    by: str,
    now: datetime,
    *,
    save: bool = True,
) -> LoadResult:
    """Add `schedule` to `calendar` in the pack's draft (started from the published version if
    there is none); nothing is saved when it would add a pack error or change nothing."""
    published = latest_version(session, pack)
    draft = drafts.get_draft(session, pack)
    files = dict(draft.files if draft else published.files)
    display = f"workflows/{pack}"
    try:
        loaded = load_pack_from_files(pack, files, display)
    except PackInvalid as exc:
        return LoadResult("", [str(e) for e in exc.errors] + ["fix the draft's YAML first"])
    before = _keys(pack_errors(loaded))
    changed = apply_schedule(loaded, calendar, schedule)
    try:
        after = pack_errors(load_pack_from_files(pack, changed, display))
    except PackInvalid as exc:
        after = exc.errors
    problems = [str(error) for error in after if (error.path, error.message) not in before]
    diff = _diff(files, changed)
    if save and diff and not problems:
        drafts.save_draft(session, pack, changed, published.version, by, now)
    return LoadResult(diff, problems)


def _keys(errors: list[PackError]) -> set[tuple[tuple[str | int, ...], str]]:
    return {(error.path, error.message) for error in errors}


def _diff(before: dict[str, str], after: dict[str, str]) -> str:
    lines: list[str] = []
    for name in sorted(set(before) | set(after)):
        lines.extend(
            difflib.unified_diff(
                before.get(name, "").splitlines(keepends=True),
                after.get(name, "").splitlines(keepends=True),
                fromfile=f"before/{name}",
                tofile=f"draft/{name}",
            )
        )
    return "".join(lines)


def published_coverage(session: Session, now: datetime) -> list[CoverageWarning]:
    """Coverage warnings of the newest published version of every pack."""
    return published_warnings(((v.pack, v.files) for v in latest_versions(session)), now)
