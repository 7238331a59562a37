"""The customer's signed survey link (R-3.3): made by the web page and by the promised contacts.

The link carries the record id and an expiry, signed with the app's secret (itsdangerous), so
the public page needs no sign-in and no stored token, and the scheduler, which sends the result
notice with the link, makes the same link the record page shows. Expiry is read against the
engine's clock by the page.
"""

from __future__ import annotations

from datetime import UTC, datetime

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "careloop.satisfaction"


class SurveyLinks:
    """Signs and reads survey tokens; `link` is the public page's address under `base_url`."""

    def __init__(self, secret: str, base_url: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt=SALT)
        self.base_url = base_url.rstrip("/")

    def token(self, record_id: int, expires: datetime) -> str:
        return str(self._serializer.dumps({"r": record_id, "x": int(expires.timestamp())}))

    def read(self, token: str) -> tuple[int, datetime]:
        """The record id and expiry a token names; BadSignature when we did not sign it."""
        data = self._serializer.loads(token)
        if not isinstance(data, dict) or not isinstance(data.get("r"), int):
            raise BadSignature("unexpected payload")
        return data["r"], datetime.fromtimestamp(int(data["x"]), tz=UTC)

    def link(self, record_id: int, expires: datetime) -> str:
        return f"{self.base_url}/survey/{self.token(record_id, expires)}"
