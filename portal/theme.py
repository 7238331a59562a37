"""The customer portal's frame (issue #23): one blueprint under `/help/<pack>`, in the shop's
name and colours, in Chinese or English.

Every portal page names its pack in the URL; the pack's newest published version must have a
`portal:` section, else the page is a 404 (a pack without a portal shows nothing to strangers).
The help pages (`portal.kb`), the web form (`portal.webform`) and the tracking page
(`portal.tracking`) add their views to this one blueprint, so `url_for` fills the pack in.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, g, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from engine.errors import NotFound
from engine.specs.pack import PackSpec
from engine.specs.portal import PortalSpec
from web import current_services as services
from web.errors import http_page
from web.languages import LANGUAGE_COOKIE, LANGUAGES

bp = Blueprint("help", __name__, url_prefix="/help/<pack>", template_folder="templates")
# The portal's stylesheet and script, the same for every pack: cached, and no pack looked up.
assets = Blueprint(
    "portal_assets", __name__, static_folder="static", static_url_path="/help-static"
)
LANGUAGE_DAYS = 365
PACK_NAME_MAX = 64


@bp.url_value_preprocessor
def _load_pack(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    """The pack and its portal for every view of the blueprint; 404 without either."""
    name = (values or {}).pop("pack", "")
    if not name or len(name) > PACK_NAME_MAX:
        abort(404)
    try:
        g.pack, g.portal = services().portal(name)
    except NotFound:
        abort(404)


@bp.url_defaults
def _add_pack(endpoint: str, values: dict[str, Any]) -> None:
    if "pack" not in values and "pack" in g and endpoint.startswith("help."):
        values["pack"] = g.pack.name


@bp.after_request
def _keep_language(response: Response) -> Response:
    """A language picked by `?lang=` stays for the visitor's next pages."""
    picked = request.args.get("lang")
    if picked in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, picked, max_age=LANGUAGE_DAYS * 86400, samesite="Lax", httponly=True
        )
    return response


@bp.context_processor
def _frame() -> dict[str, Any]:
    portal: PortalSpec | None = g.get("portal")
    language = getattr(get_locale(), "language", "zh")
    if portal is None:
        return {"language": language}
    return {
        "pack": g.pack,
        "portal": portal,
        "shop_title": portal.title_en if language == "en" else portal.title,
        "language": language,
    }


@bp.errorhandler(404)
def _not_found(error: HTTPException) -> Any:
    """A missing article or record in the shop's own frame; an unknown shop gets the plain page."""
    if "portal" not in g:
        return http_page(error)
    return refusal(404, _("找不到要找的内容"), _("此页面不存在，或文章已下线。"))


def pack() -> PackSpec:
    spec: PackSpec = g.pack
    return spec


def portal() -> PortalSpec:
    spec: PortalSpec = g.portal
    return spec


def refusal(status: int, title: str, message: str) -> tuple[str, int]:
    """A clear page in the portal's frame for what cannot be done (an expired link, spam)."""
    return render_template("portal/refused.html", title=title, message=message), status
