"""The engine's errors: each says what went wrong and how to fix it; the edge maps them to 4xx."""

from __future__ import annotations


class CareloopError(Exception):
    """Base of every error the engine raises on purpose."""


class NotFound(CareloopError, LookupError):
    """A record, pack or version that does not exist."""


class ConflictError(CareloopError, RuntimeError):
    """Someone else changed the record first: reload it and try again."""

    def __init__(self, record_id: int) -> None:
        super().__init__(
            f"record {record_id} was changed by someone else meanwhile; reload it and try again"
        )
        self.record_id = record_id


class TransitionRefused(CareloopError, ValueError):
    """A transition that the pack does not allow now (wrong stage, guard false, missing fields)."""

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class InvalidInput(CareloopError, ValueError):
    """Record data that does not fit the pack's field declarations."""

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class PublishRefused(CareloopError, ValueError):
    """A publish that would strand open records in stages the new version no longer has."""

    def __init__(self, pack: str, stranded: dict[tuple[str, str], int]) -> None:
        listing = ", ".join(
            f"{rtype}.{stage} ({count} open)" for (rtype, stage), count in sorted(stranded.items())
        )
        super().__init__(
            f"publishing {pack} would strand open records in removed stages: {listing}; "
            "give a stage mapping such as --map feedback.old_stage=new_stage"
        )
        self.pack = pack
        self.stranded = stranded
