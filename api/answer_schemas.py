"""The knowledge base's answers as the API gives them (`GET /api/v1/answers`): published
articles only, for integrations such as a shop's own chat widget."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from api.schemas import Strict


class AnswerQuery(Strict):
    q = ma.fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "The customer's question, as typed", "example": "快递一直没到"},
    )
    limit = ma.fields.Integer(load_default=3, validate=validate.Range(min=1, max=10))


class AnswerOut(ma.Schema):
    """A published knowledge-base article; never a draft, a case or anyone's data."""

    id = ma.fields.Integer()
    title = ma.fields.String()
    category = ma.fields.String(allow_none=True)
    product = ma.fields.String(allow_none=True)
    tags = ma.fields.List(ma.fields.String())
    version = ma.fields.Integer()
    snippet = ma.fields.String(
        metadata={"description": "Escaped HTML: the matched words in <mark>, nothing else"}
    )
    body = ma.fields.String(metadata={"description": "Markdown"})
    body_html = ma.fields.String(metadata={"description": "The body rendered, raw HTML escaped"})
    updated_at = ma.fields.AwareDateTime()


class AnswerPage(ma.Schema):
    query = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(AnswerOut))
