"""The store's tables as typed SQLAlchemy 2 models, one module per area of the engine.

Imports every area so `Model.metadata` (Alembic's target) holds all tables; re-exports each model.
"""

from engine.store.models.access import ApiToken, AuditEntry, SignInFailure, Team, User
from engine.store.models.base import NAMING_CONVENTION, Model
from engine.store.models.canned import CannedResponse
from engine.store.models.conversation import ThreadAttachment, ThreadMessage
from engine.store.models.customers import (
    CampaignOccasion,
    CampaignRun,
    Customer,
    CustomerEvent,
    CustomerOrderStats,
    CustomerTier,
    Order,
    SatisfactionAnswer,
)
from engine.store.models.delivery import IdempotencyKey, OutboxMessage, WebhookSubscription
from engine.store.models.desk import SavedView
from engine.store.models.files import RecordAttachment
from engine.store.models.insight import DailyRollup, EarlyWarning, ImprovementAction, RollupDay
from engine.store.models.jobs import ImportJob
from engine.store.models.knowledge import (
    Article,
    ArticleVersion,
    KnownProblem,
    KnownProblemLink,
    SearchDoc,
    SynonymGroup,
)
from engine.store.models.loyalty import CustomerReferral, LoyaltyEntry
from engine.store.models.merging import RecordMerge, RecordViewer
from engine.store.models.packs import PackDraft, PackVersion
from engine.store.models.ratelimit import RateLimitCounter
from engine.store.models.recordmeta import RecordFollower, RecordTag
from engine.store.models.records import Notification, Record, RecordEvent, SlaClock, Timer
from engine.store.models.recordsearch import RecordSearchDoc
from engine.store.models.reviews import ReviewRun
from engine.store.models.scheduler import SchedulerHeartbeat
from engine.store.models.selfservice import (
    SelfServiceDaily,
    SelfServiceOutcome,
    SelfServiceRolled,
)

__all__ = [
    "SelfServiceOutcome",
    "SelfServiceDaily",
    "SelfServiceRolled",
    "RateLimitCounter",
    "CannedResponse",
    "ThreadAttachment",
    "ThreadMessage",
    "SavedView",
    "RecordMerge",
    "RecordViewer",
    "RecordAttachment",
    "ImportJob",
    "NAMING_CONVENTION",
    "Model",
    # packs
    "PackDraft",
    "PackVersion",
    # records
    "Notification",
    "Record",
    "RecordEvent",
    "RecordSearchDoc",
    "RecordFollower",
    "RecordTag",
    "SlaClock",
    "Timer",
    # customers
    "CampaignOccasion",
    "CampaignRun",
    "Customer",
    "CustomerEvent",
    "CustomerOrderStats",
    "CustomerTier",
    "Order",
    "SatisfactionAnswer",
    "CustomerReferral",
    "LoyaltyEntry",
    # insight
    "DailyRollup",
    "EarlyWarning",
    "ImprovementAction",
    "RollupDay",
    "ReviewRun",
    # knowledge
    "Article",
    "ArticleVersion",
    "KnownProblem",
    "KnownProblemLink",
    "SearchDoc",
    "SynonymGroup",
    # delivery
    "IdempotencyKey",
    "OutboxMessage",
    "WebhookSubscription",
    # access
    "ApiToken",
    "AuditEntry",
    "SignInFailure",
    "Team",
    "User",
    # scheduler
    "SchedulerHeartbeat",
]
