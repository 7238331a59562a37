"""The pack's customer portal (issue #23): the shop's name and colours, the public web form.

Pack data, because which fields a stranger may fill in, and under which name and colours the
shop meets its customers, are a service desk's choices (R-8.1). Built and checked by
`engine.specs.build_portal`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Field types a customer can type in a browser form; `customer` numbers are the desk's own.
PUBLIC_TYPES = ("text", "contact", "date", "datetime", "choice", "number")
DEFAULT_COLOUR = "#1f6feb"
DEFAULT_ACCENT = "#f5a623"


@dataclass(frozen=True)
class PortalSpec:
    """`portal:` of a pack: how its public pages look and what its web form asks."""

    title: str
    title_en: str
    colour: str
    accent: str
    record_type: str
    fields: tuple[str, ...]  # the public fields, in the form's order
    text_field: str  # the description matching articles are searched by
    contact_field: str  # where the acknowledgement and replies go
    channel: str = "web"
    intro: str = ""
    # The public fields' labels in the English portal (the pack's own labels are Chinese).
    labels_en: dict[str, str] = field(default_factory=dict)

    def label(self, name: str, default: str, language: str) -> str:
        """A public field's label in the visitor's language."""
        return self.labels_en.get(name, default) if language == "en" else default
