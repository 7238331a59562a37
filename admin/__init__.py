"""Flask-Admin at /admin for operations staff (supervisors read where it makes sense).

Records, history and timers change only through the engine; this UI lists,
filters, reads, and calls engine use cases (publish a pack, resend a message).
"""

from __future__ import annotations

from flask import Blueprint, Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme
from flask_babel import lazy_gettext as _l

from admin import imports, knowledge, views
from admin.packs import PacksView
from admin.security import HomeView
from admin.store import AdminStore
from engine.services import Services
from engine.store.models import (
    ApiToken,
    Article,
    ArticleVersion,
    AuditEntry,
    Customer,
    KnownProblem,
    OutboxMessage,
    PackVersion,
    Record,
    SynonymGroup,
    Team,
    User,
)
from web.security import csp_nonce


def init_app(app: Flask, services: Services) -> None:
    """Mount the admin; call after Babel so it renders in the user's language."""
    store = AdminStore(services.session_factory)
    store.init_app(app)
    app.register_blueprint(
        Blueprint(
            "admin_pages",
            __name__,
            template_folder="templates",
            static_folder="static",
            static_url_path="/admin-assets",
        )
    )
    admin = Admin(
        app,
        name=_l("Careloop 运营"),
        url="/admin",
        index_view=HomeView(url="/admin"),
        theme=Bootstrap4Theme(),
        csp_nonce_generator=csp_nonce,  # its inline scripts run under our CSP
    )
    # One 流程包 menu: drafts and publishing, then the published versions (not a link and a
    # menu both called 流程包).
    admin.add_view(PacksView(name=_l("草稿与发布"), endpoint="packs", category=_l("流程包")))
    admin.add_view(
        views.VersionAdmin(PackVersion, store, name=_l("已发布版本"), category=_l("流程包"))
    )
    admin.add_view(views.RecordAdmin(Record, store, name=_l("记录")))
    admin.add_view(views.SuperviseView(name=_l("处理"), endpoint="supervise"))
    admin.add_view(views.CustomerAdmin(Customer, store, name=_l("客户"), category=_l("客户")))
    admin.add_view(views.CustomerCareView(name=_l("客户详情"), endpoint="customer_care"))
    admin.add_view(imports.ImportView(name=_l("CSV 导入"), endpoint="imports", category=_l("客户")))
    admin.add_view(knowledge.ArticleAdmin(Article, store, name=_l("文章"), category=_l("知识库")))
    admin.add_view(
        knowledge.ArticleVersionAdmin(
            ArticleVersion, store, name=_l("文章版本"), category=_l("知识库")
        )
    )
    admin.add_view(
        knowledge.KnownProblemAdmin(KnownProblem, store, name=_l("已知问题"), category=_l("知识库"))
    )
    admin.add_view(
        knowledge.SynonymAdmin(SynonymGroup, store, name=_l("同义词"), category=_l("知识库"))
    )
    admin.add_view(views.UserAdmin(User, store, name=_l("用户"), category=_l("人员")))
    admin.add_view(views.TeamAdmin(Team, store, name=_l("团队"), category=_l("人员")))
    admin.add_view(views.AuditAdmin(AuditEntry, store, name=_l("审计日志"), category=_l("系统")))
    admin.add_view(views.OutboxAdmin(OutboxMessage, store, name=_l("发件箱"), category=_l("系统")))
    admin.add_view(views.TokenAdmin(ApiToken, store, name=_l("API 令牌"), category=_l("系统")))
