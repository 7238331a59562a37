"""The pack page: published versions, a draft edited as YAML or through structured forms,
its validation, the diff against what is live, the impact on running records, publish, roll back.
"""

from __future__ import annotations

import difflib
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from admin import packpages
from admin.packcalendar import load_upload
from admin.packedit import Edit, field_of
from admin.packforms import APPLIERS
from admin.security import Guarded
from engine.access.users import audit
from engine.errors import CareloopError
from engine.records import drafts
from engine.records.versions import ADMIN, latest_version
from engine.specs.build import build_pack_spec
from engine.store.models import PackDraft, PackVersion, Record
from forms.present import local
from web import current_services as services
from workflows.calendars import coverage_warnings
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
            with_drafts = {d.pack for d in uow.session.scalars(select(PackDraft))}
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
        """The single values (SLA targets and the like), as the first structured form had them."""
        return self._save_structured(pack, "values", "")

    @expose("/<pack>/form/<kind>", methods=["POST"])
    def save_form(self, pack: str, kind: str) -> Any:
        """A structured form: its changes are written into the draft's YAML in place."""
        if kind not in APPLIERS:
            abort(404)
        return self._save_structured(pack, kind, request.form.get("target", ""))

    def _save_structured(self, pack: str, kind: str, target: str) -> Any:
        """Apply the form, validate the whole pack, and keep the draft only if nothing new broke.

        Errors the draft already had (from a YAML edit) do not block a structured
        save; an error the form would add is shown next to its input and nothing
        is saved.
        """
        with services().uow() as uow:
            published = _published(uow.session, pack)
            files = _draft_files(uow.session, pack, published)
            loaded, before = _check(pack, files)
            if loaded is None:
                flash(_("草稿的 YAML 无法读取：请先在 YAML 编辑器中改正。"), "error")
                return redirect(url_for(".pack", pack=pack))
            edit = Edit(dict(files), loaded)
            try:
                APPLIERS[kind](edit, request.form, target)
            except PackInvalid as exc:
                for error in exc.errors:
                    edit.problem(field_of(edit.where, error.path) or "form", error.message)
            if not edit.problems:
                known = {(e.path, e.message) for e in before}
                for error in _check(pack, edit.files)[1]:
                    if (error.path, error.message) not in known:
                        edit.problem(field_of(edit.where, error.path) or "form", str(error))
            if not edit.problems and edit.files != files:
                now = services().clock.now()
                drafts.save_draft(
                    uow.session, pack, edit.files, published.version, current_user.username, now
                )
                audit(
                    uow.session,
                    current_user.username,
                    "pack.draft",
                    pack,
                    now,
                    form=kind,
                    target=target,
                )
                uow.commit()
        if edit.problems:
            failed = {
                "kind": kind,
                "target": target,
                "problems": edit.problems,
                "submitted": request.form.to_dict(),
            }
            return self._page(pack, failed), 400
        if edit.files == files:
            flash(_("没有改动。"), "info")
        else:
            flash(_("已保存到草稿：确认差异与影响后发布。"), "success")
        return redirect(url_for(".pack", pack=pack))

    @expose("/<pack>/calendar/<calendar>/load", methods=["POST"])
    def load_calendar(self, pack: str, calendar: str) -> Any:
        """A year's official schedule (休/班 text or .ics) into the draft (R-2.8)."""
        return load_upload(pack, calendar, request.files.get("schedule"), current_user.username)

    @expose("/<pack>/discard", methods=["POST"])
    def discard(self, pack: str) -> Any:
        with services().uow() as uow:
            drafts.discard_draft(uow.session, pack)
            uow.commit()
        flash(_("草稿已放弃。"), "info")
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
            result = services().publish(
                source, by=current_user.username, stage_map=stage_map, origin=ADMIN
            )
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
        flash(_("已发布 %(pack)s v%(v)s。", pack=pack, v=result.version.version), "success")
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
        flash(_("v%(v)s 已载入草稿：确认差异与影响后发布。", v=version), "info")
        return redirect(url_for(".pack", pack=pack))

    def _page(self, pack: str, failed: dict[str, Any] | None = None) -> Any:
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
                failed=failed,
                error_lines=_error_lines(errors),
                active_tab=_first_tab(bool(draft), errors, failed),
                calendar_warnings=coverage_warnings(loaded, services().clock.now())
                if loaded
                else [],
                local_time=lambda moment: local(moment, str(current_user.user.timezone)),
                **_structured(loaded.data if loaded is not None else {}),
            )


# The tab a form of each kind lives on, so a refused save opens where its red fields are.
_TAB_OF_FORM = {
    "values": "pane-values",
    "calendar": "pane-calendars",
    "routing": "pane-routing",
    "form": "pane-forms",
    "choices": "pane-forms",
}


def _first_tab(draft: bool, errors: list[PackError], failed: dict[str, Any] | None) -> str:
    """Where the page opens: the YAML's errors, a refused form, else the preview of a draft."""
    if errors:
        return "pane-yaml"
    if failed is not None:
        return _TAB_OF_FORM.get(str(failed.get("kind")), "pane-values")
    return "pane-preview" if draft else "pane-values"


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


def _error_lines(errors: list[PackError]) -> dict[str, list[int]]:
    """Lines with errors by file name, so the YAML editor marks them."""
    lines: dict[str, list[int]] = {}
    for error in errors:
        lines.setdefault(error.file.rsplit("/", 1)[-1], []).append(error.line)
    return lines


def _structured(data: dict[str, Any]) -> dict[str, Any]:
    """What the structured forms show, from the draft's merged data."""
    return {
        "values": packpages.value_rows(data),
        "calendars": packpages.calendar_forms(data),
        "routing": packpages.routing_form(data),
        "transitions": packpages.transition_forms(data),
        "choices": packpages.choice_forms(data),
    }
