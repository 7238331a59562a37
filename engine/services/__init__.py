"""The engine's use cases behind one door: each opens a unit of work, asks the clock once, commits.

The web, the API, the CLI, the scheduler and the simulator all call these;
none of them touches the store's tables directly.

One class for all of them, `Services`, assembled from a class per area (records, the record
page's corrections, conversation, canned responses, files, customers, imports, knowledge,
insight, merging, the customer portal and its chat box) that share `ServiceBase`; callers only
ever see `Services`.
"""

from __future__ import annotations

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

__all__ = ["Services"]


class Services(
    RecordServices,
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
