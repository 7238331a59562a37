"""The engine's use cases behind one door: each opens a unit of work, asks the clock once, commits.

The web, the API, the CLI, the scheduler and the simulator all call these;
none of them touches the store's tables directly.

One class for all of them, `Services`, assembled from a class per area (records, the sweep,
the record page's corrections, conversation, canned responses, files, customers, imports, knowledge,
insight, merging, the customer portal and its chat box) that share `ServiceBase`; callers only
ever see `Services`.

An area is imported when one of its names is first used, not when `Services` is: a scheduler
sweeps without the mail parser, the knowledge base, the portal or the chat box, and importing
every area cost it a fifth of its start (issue #24 item 2). The type checker sees the class
built from every area; at run time each name of `AREAS` is a `_FromArea` on `Services` that
imports its area, puts the area's own attributes on `Services` in its place, and steps aside,
so later uses are plain attribute lookups, `super()` in a subclass (ops/observed.py) included.
tests/unit/test_services_areas.py checks `AREAS` against the areas' classes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engine.services.base import ServiceBase

__all__ = ["AREAS", "Services"]

# Each area's class ("module.Class") and every attribute it defines, private helpers included:
# an area's method may call them through `self`, and so may another area's.
AREAS: dict[str, tuple[str, ...]] = {
    "engine.services.records.RecordServices": (
        "publish",
        "create_record",
        "intake",
        "supervise",
        "add_note",
        "transition",
        "extend_deadline",
    ),
    "engine.services.sweeping.SweepServices": ("sweep",),
    "engine.services.editing.EditingServices": (
        "edit_fields",
        "reassign",
        "regrade",
        "retag",
        "refollow",
        "_people",
        "_current",
    ),
    "engine.services.conversation.ConversationServices": (
        "thread",
        "attachment",
        "reply",
        "resend",
        "outbox_files",
        "note",
        "receive",
        "_receive",
        "take_mail",
        "take_gateway_message",
        "_taken_before",
        "take_receipt",
    ),
    "engine.services.canned.CannedServices": (
        "canned_for",
        "canned_after_sending",
        "own_canned",
        "get_own_canned",
        "save_canned",
        "delete_canned",
    ),
    "engine.services.files.FileServices": ("attach_file", "record_files", "record_file"),
    "engine.services.customers.CustomerServices": (
        "save_customer",
        "_referral",
        "export_customer",
        "erase_customer",
        "record_order",
        "recompute_tiers",
        "award_points",
        "run_campaigns",
    ),
    "engine.services.imports.ImportServices": (
        "queue_import",
        "import_job",
        "run_import_job",
        "_run",
    ),
    "engine.services.knowledge.KnowledgeServices": (
        "link_known_problem",
        "suggestions",
        "knowledge_search",
        "answers",
        "reindex",
    ),
    "engine.services.insight.InsightServices": (
        "roll_up",
        "answer_satisfaction",
        "evaluate_monitors",
        "report_warning",
        "create_action",
        "measure_actions",
    ),
    "engine.services.reviews.ReviewServices": ("send_reviews", "raise_frequent_actions"),
    "engine.services.merging.MergeServices": ("merge_records", "viewing"),
    "engine.services.selfservice.SelfServiceServices": (
        "chat_pack",
        "chat_answer",
        "chat_vote",
        "chat_hand_over",
    ),
    "engine.services.portal.PortalServices": (
        "portal",
        "help_index",
        "help_article",
        "help_find",
        "self_service",
        "submit_form",
        "pack_of_record",
        "tracking_view",
        "customer_reply",
        "confirm_solution",
        "find_own_record",
    ),
}


def area_class(area: str) -> type[ServiceBase]:
    """The class of an area of `AREAS`, its module imported now if it was not yet."""
    module, name = area.rsplit(".", 1)
    found: type[ServiceBase] = getattr(importlib.import_module(module), name)
    return found


if TYPE_CHECKING:
    from engine.services.canned import CannedServices
    from engine.services.conversation import ConversationServices
    from engine.services.customers import CustomerServices
    from engine.services.editing import EditingServices
    from engine.services.files import FileServices
    from engine.services.imports import ImportServices
    from engine.services.insight import InsightServices
    from engine.services.knowledge import KnowledgeServices
    from engine.services.merging import MergeServices
    from engine.services.portal import PortalServices
    from engine.services.records import RecordServices
    from engine.services.reviews import ReviewServices
    from engine.services.selfservice import SelfServiceServices
    from engine.services.sweeping import SweepServices

    class Services(
        RecordServices,
        SweepServices,
        EditingServices,
        ConversationServices,
        CannedServices,
        FileServices,
        CustomerServices,
        ImportServices,
        KnowledgeServices,
        InsightServices,
        ReviewServices,
        MergeServices,
        SelfServiceServices,
        PortalServices,
    ):
        """Use cases bound to a session factory, a clock and a spec cache."""

else:

    class _FromArea:
        """A name of an area on `Services` until first use, when the area takes its place."""

        def __init__(self, owner: type, area: str, name: str) -> None:
            self.owner, self.area, self.name = owner, area, name

        def __get__(self, instance: object, owner: type | None = None) -> Any:
            found = area_class(self.area)
            for name in AREAS[self.area]:  # the whole area: its helpers call each other
                setattr(self.owner, name, vars(found)[name])
            return vars(found)[self.name].__get__(instance, owner)

    class Services(ServiceBase):
        """Use cases bound to a session factory, a clock and a spec cache."""

    for _area, _names in AREAS.items():
        for _name in _names:
            setattr(Services, _name, _FromArea(Services, _area, _name))

    del _area, _names, _name
