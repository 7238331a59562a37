"""Column types: every stored time is timezone-aware UTC; personal text and files are encrypted."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, LargeBinary, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from engine.access import crypto


class UTCDateTime(TypeDecorator[datetime]):
    """Refuse naive datetimes on the way in; hand back aware UTC ones on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} cannot be stored; give a zone")
        value = value.astimezone(UTC)
        # SQLite has no zone type: store UTC wall time so text order is time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class EncryptedText(TypeDecorator[str]):
    """Text encrypted with Fernet on the way in, decrypted on the way out (R-8.3).

    ORM and Core code read and write plain strings; only the database sees ciphertext.
    Equality in SQL cannot work on it: look such values up by their keyed hash column.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else crypto.encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else crypto.decrypt(value)


class EncryptedJSON(TypeDecorator[dict[str, Any]]):
    """A JSON object encrypted with Fernet as one text (R-8.3, issue #22 item 4).

    Records keep the fields their type marks personal here: the values are hidden together,
    so neither the database nor a backup shows which of them a record holds or how long each is.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> Any:
        if not value:
            return None
        return crypto.encrypt(json.dumps(value, ensure_ascii=False, sort_keys=True))

    def process_result_value(self, value: str | None, dialect: Dialect) -> dict[str, Any] | None:
        if value is None:
            return None
        found = json.loads(crypto.decrypt(value))
        return found if isinstance(found, dict) else None


class EncryptedBytes(TypeDecorator[bytes]):
    """A file encrypted with Fernet on the way in, decrypted on the way out (R-8.3, issue #20).

    The binary sibling of `EncryptedText`: customers' photos and scans are personal data too.
    """

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Dialect) -> Any:
        return None if value is None else crypto.encrypt_bytes(bytes(value))

    def process_result_value(self, value: bytes | None, dialect: Dialect) -> bytes | None:
        return None if value is None else crypto.decrypt_bytes(bytes(value))
