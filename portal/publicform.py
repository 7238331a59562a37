"""The web form's class, built from the pack's public fields (issue #23, item 2).

Each public field is the desk's own field for its type (`forms.builder.pack_field`), so a date
is a date input and a choice a list, as on the desk. Two fields are the portal's: the photos,
and a honeypot a person never sees (hidden by the stylesheet, skipped by the keyboard, left out
by autofill) and a form-filling robot fills in. Built once per pack version, which never changes.
"""

from __future__ import annotations

import threading
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, StringField
from wtforms.validators import Length, Optional

from engine.specs.pack import PackSpec
from forms.builder import pack_field

HONEYPOT = "website"
PHOTOS = "photos"
# By the spec object, which the engine's SpecCache keeps once per published version; the spec is
# kept beside its class so a reused id() can never hand out another pack's form.
_CACHE: dict[int, tuple[PackSpec, type[FlaskForm]]] = {}
_LOCK = threading.Lock()


class PublicForm(FlaskForm):  # type: ignore[misc]
    website = StringField(_l("网址"), validators=[Optional(), Length(max=200)])
    photos = MultipleFileField(_l("照片或附件"))


def form_class(pack: PackSpec) -> type[FlaskForm]:
    """The pack's web form, its fields in the pack's order; built once per spec."""
    portal = pack.portal
    assert portal is not None
    with _LOCK:
        cached = _CACHE.get(id(pack))
        if cached is None or cached[0] is not pack:
            rtype = pack.record_type(portal.record_type)
            fields: dict[str, Any] = {
                name: pack_field(
                    pack,
                    rtype,
                    name,
                    required=rtype.fields[name].required,
                    timezone=pack.timezone,
                )
                for name in portal.fields
            }
            cached = (pack, type(f"PublicForm_{pack.name}", (PublicForm,), fields))
            _CACHE[id(pack)] = cached
        return cached[1]
