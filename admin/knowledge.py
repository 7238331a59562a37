"""The knowledge base in the admin: articles (each save a new version), known problems, synonyms.

Operations staff and supervisors write articles and known problems (issue
#13); synonyms are kept by operations. Saves go through `engine.knowledge`
in the admin's own transaction, so the version row and the search index
change with the article or not at all.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from wtforms import SelectField, TextAreaField, ValidationError

from admin.security import OPERATIONS, READERS, SecureModelView
from admin.views import _choices
from engine.errors import InvalidInput
from engine.knowledge import articles, synonyms
from engine.store.models import Article
from web import current_services as services
from web.markdown import render

STATUS_LABELS = {"draft": _l("草稿"), "published": _l("已发布"), "retired": _l("已下线")}
PROBLEM_LABELS = {"open": _l("处理中"), "fixed": _l("已根治")}


def _rendered(_view: Any, _context: Any, model: Article, _name: str) -> Markup:
    return Markup('<div class="kb-article">{}</div>').format(render(model.body))


def _versions(_view: Any, _context: Any, model: Article, _name: str) -> Markup:
    rows = Markup("").join(
        Markup("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>").format(
            v.version, STATUS_LABELS.get(v.status, v.status), v.saved_by, v.saved_at
        )
        for v in reversed(model.versions)
    )
    return Markup('<table class="table table-sm">{}</table>').format(rows)


class KnowledgeView(SecureModelView):
    """Saved through the engine; its refusals show on the form, not as a 500."""

    def _saved(self, model: Any) -> None:
        raise NotImplementedError

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        try:
            self._saved(model)
        except InvalidInput as exc:
            raise ValidationError(str(exc)) from None


class ArticleAdmin(KnowledgeView):
    """Markdown articles; saving keeps the previous text as a version and reindexes."""

    roles = READERS
    can_view_details = True
    column_list = ("title", "status", "category", "product", "version", "updated_by", "updated_at")
    column_filters = ("status", "category", "product")
    column_default_sort = ("updated_at", True)
    column_labels = {
        "title": _l("标题"),
        "status": _l("状态"),
        "category": _l("类别"),
        "product": _l("产品"),
        "tags": _l("标签"),
        "body": _l("正文（Markdown）"),
        "version": _l("版本"),
        "updated_by": _l("修改人"),
        "updated_at": _l("修改时间"),
        "versions": _l("历史版本"),
    }
    column_formatters = {"status": lambda v, c, m, n: STATUS_LABELS.get(m.status, m.status)}
    column_details_list = (*column_list, "tags", "body", "versions")
    column_formatters_detail = {**column_formatters, "body": _rendered, "versions": _versions}
    form_columns = ("title", "status", "category", "product", "tags", "body")
    form_overrides = {"status": SelectField, "body": TextAreaField}
    form_args = {
        "status": {"choices": _choices(*STATUS_LABELS.items())},
        "tags": {"description": _l("用逗号分隔，例如：物流, 延迟")},
    }
    form_widget_args = {"body": {"rows": 16}}

    def _saved(self, model: Article) -> None:
        articles.save_article(
            self.session.session, model, actor=current_user.username, now=services().clock.now()
        )


class ArticleVersionAdmin(SecureModelView):
    """Every saved text of every article, never changed."""

    roles = READERS
    can_create = can_edit = False
    can_view_details = True
    column_list = ("article", "version", "status", "title", "saved_by", "saved_at")
    column_filters = ("article_id", "status")
    column_default_sort = ("id", True)
    column_formatters_detail = {"body": lambda v, c, m, n: escape(m.body)}


class KnownProblemAdmin(KnowledgeView):
    """Known problems with their solutions; the record count feeds the review (R-4.2, R-7.2)."""

    roles = READERS
    can_view_details = True
    column_list = ("title", "status", "category", "product", "record_count", "updated_at")
    column_sortable_list = ("title", "status", "category", "record_count", "updated_at")
    column_default_sort = ("record_count", True)
    column_filters = ("status", "category", "product")
    column_labels = {
        "title": _l("标题"),
        "status": _l("状态"),
        "category": _l("类别"),
        "product": _l("产品"),
        "symptoms": _l("现象"),
        "solution": _l("解决方案"),
        "record_count": _l("关联记录数"),
        "updated_at": _l("修改时间"),
    }
    column_formatters = {"status": lambda v, c, m, n: PROBLEM_LABELS.get(m.status, m.status)}
    form_columns = ("title", "status", "category", "product", "symptoms", "solution")
    form_overrides = {"status": SelectField, "symptoms": TextAreaField, "solution": TextAreaField}
    form_args = {"status": {"choices": _choices(*PROBLEM_LABELS.items())}}
    form_widget_args = {"symptoms": {"rows": 5}, "solution": {"rows": 8}}

    def _saved(self, model: Any) -> None:
        articles.save_problem(
            self.session.session, model, actor=current_user.username, now=services().clock.now()
        )


class SynonymAdmin(KnowledgeView):
    """Groups of words that mean the same; they apply to the next question, no reindex."""

    roles = OPERATIONS
    can_delete = True  # a wrong synonym only widens searches; removing it is harmless
    column_list = ("words", "updated_by", "updated_at")
    column_labels = {
        "words": _l("同义词（逗号分隔）"),
        "updated_by": _l("修改人"),
        "updated_at": _l("时间"),
    }
    form_columns = ("words",)
    form_args = {"words": {"description": _l("例如：快递, 物流, 配送")}}

    def _saved(self, model: Any) -> None:
        synonyms.check(model)
        model.updated_by, model.updated_at = current_user.username, services().clock.now()
