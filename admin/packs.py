"""The pack page: published versions, a draft edited as YAML or through structured forms,
its validation, the diff against what is live, the impact on running records, publish, roll back.
"""

from __future__ import annotations

import difflib
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_login import current_user
from sqlalchemy import func, select

from admin.security import Guarded
from engine import drafts
from engine.errors import CareloopError
from engine.packspec import build_pack_spec
from engine.store.models import PackVersion, Record
from engine.users import audit
from engine.versions import latest_version
from forms import current_services as services
from workflows.edit import replace_scalar
from workflows.errors import PackError, PackInvalid
from workflows.loader import load_pack_from_files
from workflows.validate import pack_errors, source_of


class PacksView(Guarded, BaseView):  # type: ignore[misc]
    """Operations staff change the process here; publishing goes through the engine."""

    @expose("/")
    def index(self) -> Any:
        with services().uow() as uow:
            latest = uow.session.execute(
                select(PackVersion.pack, func.max(PackVersion.version)).group_by(PackVersion.pack)
            ).all()
            open_counts = dict(
                uow.session.execute(
                    select(Record.pack, func.count())
                    .where(Record.is_open.is_(True))
                    .group_by(Record.pack)
                ).all()
            )
            with_drafts = {d.pack for d in uow.session.scalars(select(drafts.PackDraft))}
        rows = [
            {"pack": p, "version": v, "open": open_counts.get(p, 0), "draft": p in with_drafts}
            for p, v in latest
        ]
        return self.render("admin_packs/index.html", rows=rows)

    @expose("/<pack>")
    def pack(self, pack: str) -> Any:
        return self._page(pack)

    @expose("/<pack>/yaml", methods=["POST"])
    def save_yaml(self, pack: str) -> Any:
        """Keep what was typed as the draft, valid or not, and show what is wrong with it."""
        with services().uow() as uow:
            published = _published(uow.session, pack)
            files = {
                name: request.form.get(f"file:{name}", text).replace("\r\n", "\n")
                for name, text in _draft_files(uow.session, pack, published).items()
            }
            drafts.save_draft(
                uow.session,
                pack,
                files,
                published.version,
                current_user.username,
                services().clock.now(),
            )
            audit(uow.session, current_user.username, "pack.draft", pack, services().clock.now())
            uow.commit()
        return redirect(url_for(".pack", pack=pack))

    @expose("/<pack>/sla", methods=["POST"])
    def save_sla(self, pack: str) -> Any:
        """The structured form: SLA numbers per priority, written into the YAML in place."""
        with services().uow() as uow:
            published = _published(uow.session, pack)
            files = dict(_draft_files(uow.session, pack, published))
            loaded = load_pack_from_files(pack, files, f"workflows/{pack}")
            errors: list[PackError] = []
            for key, value in request.form.items():
                if not key.startswith("sla:") or not value.strip():
                    continue
                path = tuple(
                    int(p) if p.isdigit() else p for p in key.removeprefix("sla:").split("|")
                )
                owner = loaded.owner(path)
                try:
                    files[owner] = replace_scalar(files[owner], owner, path, value.strip())
                except PackInvalid as exc:
                    errors.extend(exc.errors)
            drafts.save_draft(
                uow.session,
                pack,
                files,
                published.version,
                current_user.username,
                services().clock.now(),
            )
            audit(
                uow.session,
                current_user.username,
                "pack.draft",
                pack,
                services().clock.now(),
                form="sla",
            )
            uow.commit()
        for error in errors:
            flash(str(error), "error")
        return redirect(url_for(".pack", pack=pack))

    @expose("/<pack>/discard", methods=["POST"])
    def discard(self, pack: str) -> Any:
        with services().uow() as uow:
            drafts.discard_draft(uow.session, pack)
            uow.commit()
        flash("草稿已放弃。", "info")
        return redirect(url_for(".pack", pack=pack))

    @expose("/<pack>/publish", methods=["POST"])
    def publish(self, pack: str) -> Any:
        """Validate the draft and publish it as a new version through the engine."""
        with services().uow() as uow:
            draft = drafts.get_draft(uow.session, pack)
            if draft is None:
                abort(404)
            files = dict(draft.files)
            before = _published(uow.session, pack)
            changes = _diff(before.files, files)
        stage_map = dict(
            line.split("=", 1) for line in request.form.get("stage_map", "").split() if "=" in line
        )
        try:
            source = source_of(load_pack_from_files(pack, files, f"workflows/{pack}"))
            result = services().publish(source, by=current_user.username, stage_map=stage_map)
        except PackInvalid as exc:
            for error in exc.errors:
                flash(str(error), "error")
            return redirect(url_for(".pack", pack=pack))
        except CareloopError as exc:
            flash(str(exc), "error")
            return redirect(url_for(".pack", pack=pack))
        with services().uow() as uow:
            drafts.discard_draft(uow.session, pack)
            audit(
                uow.session,
                current_user.username,
                "pack.publish",
                pack,
                services().clock.now(),
                before=before.version,
                after=result.version.version,
                hash=result.version.source_hash,
                diff=changes[:20_000],
            )
            uow.commit()
        flash(f"已发布 {pack} v{result.version.version}。", "success")
        return redirect(url_for(".pack", pack=pack))

    @expose("/<pack>/rollback/<int:version>", methods=["POST"])
    def rollback(self, pack: str, version: int) -> Any:
        """Publish an old version's files again, as the newest version."""
        with services().uow() as uow:
            old = uow.session.scalars(
                select(PackVersion).where(PackVersion.pack == pack, PackVersion.version == version)
            ).first()
            if old is None:
                abort(404)
            files = dict(old.files)
            drafts.save_draft(
                uow.session, pack, files, version, current_user.username, services().clock.now()
            )
            uow.commit()
        flash(f"v{version} 已载入草稿：确认差异与影响后发布。", "info")
        return redirect(url_for(".pack", pack=pack))

    def _page(self, pack: str) -> Any:
        with services().uow() as uow:
            published = _published(uow.session, pack)
            draft = drafts.get_draft(uow.session, pack)
            versions = list(
                uow.session.scalars(
                    select(PackVersion)
                    .where(PackVersion.pack == pack)
                    .order_by(PackVersion.version.desc())
                )
            )
            files = dict(draft.files) if draft else dict(published.files)
            loaded, errors = _check(pack, files)
            spec = build_pack_spec(loaded.data)[0] if loaded is not None and not errors else None
            effect = drafts.impact(uow.session, pack, spec) if spec is not None and draft else None
            diff = _diff(published.files, files) if draft else ""
            return self.render(
                "admin_packs/pack.html",
                pack=pack,
                published=published,
                versions=versions,
                draft=draft,
                files=files,
                errors=errors,
                diff=diff,
                impact=effect,
                sla_rows=_sla_rows(loaded.data if loaded is not None else None),
                other_rows=_other_rows(loaded.data if loaded is not None else None),
            )


def _published(session: Any, pack: str) -> PackVersion:
    try:
        return latest_version(session, pack)
    except CareloopError:
        abort(404)


def _draft_files(session: Any, pack: str, published: PackVersion) -> dict[str, str]:
    draft = drafts.get_draft(session, pack)
    return dict(draft.files if draft else published.files)


def _check(pack: str, files: dict[str, str]) -> tuple[Any, list[PackError]]:
    try:
        loaded = load_pack_from_files(pack, files, f"workflows/{pack}")
    except PackInvalid as exc:
        return None, exc.errors
    return loaded, pack_errors(loaded)


def _diff(before: dict[str, str], after: dict[str, str]) -> str:
    lines: list[str] = []
    for name in sorted(set(before) | set(after)):
        lines.extend(
            difflib.unified_diff(
                before.get(name, "").splitlines(keepends=True),
                after.get(name, "").splitlines(keepends=True),
                fromfile=f"published/{name}",
                tofile=f"draft/{name}",
            )
        )
    return "".join(lines)


def _key(*path: str | int) -> str:
    return "sla:" + "|".join(map(str, path))


def _sla_rows(data: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per record type, priority and target: the `within` to edit, and its path."""
    rows = []
    for tid, rtype in ((data or {}).get("record_types") or {}).items():
        for priority, terms in ((rtype.get("sla") or {}).get("policies") or {}).items():
            for target, term in terms.items():
                rows.append(
                    {
                        "type": tid,
                        "priority": priority,
                        "target": target,
                        "within": term.get("within"),
                        "calendar": term.get("calendar"),
                        "key": _key(
                            "record_types", tid, "sla", "policies", priority, target, "within"
                        ),
                    }
                )
    return rows


def _other_rows(data: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The other values people change most: warning thresholds, follow-up intervals, routing."""
    rows = []
    for tid, rtype in ((data or {}).get("record_types") or {}).items():
        sla = rtype.get("sla") or {}
        if "warning" in sla:
            rows.append(
                {
                    "label": f"{tid} · SLA 预警阈值",
                    "value": sla["warning"],
                    "key": _key("record_types", tid, "sla", "warning"),
                }
            )
        for name, followup in (rtype.get("followups") or {}).items():
            when = "every" if "every" in followup else "after"
            label = "每隔" if when == "every" else "之后"
            rows.append(
                {
                    "label": f"{tid} · 跟进 {followup.get('title', name)}（{label}）",
                    "value": followup.get(when),
                    "key": _key("record_types", tid, "followups", name, when),
                }
            )
    for index, rule in enumerate((data or {}).get("routing") or []):
        condition = rule.get("when", "其余")
        rows.append(
            {
                "label": f"分派规则 {index + 1}：{condition}",
                "value": rule["department"],
                "key": _key("routing", index, "department"),
            }
        )
    return rows
