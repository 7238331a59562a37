"""The customer's signed links: the survey (R-3.3) and the tracking page (issue #23).

The link carries the record id and an expiry, signed with the app's secret (itsdangerous), so
the public page needs no sign-in and no stored token, and the scheduler, which sends the result
notice with the link, makes the same link the record page shows. Expiry is read against the
engine's clock by the page. A tracking link is signed with another salt, so neither kind of
token opens the other's page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "careloop.satisfaction"
TRACKING_SALT = "careloop.tracking"
# How long the link in an acknowledgement opens the customer's page: past any resolve target,
# the survey and the callback, yet not for ever for a mail that may be forwarded.
TRACKING_VALID_FOR = timedelta(days=60)


class SurveyLinks:
    """Signs and reads survey tokens; `link` is the public page's address under `base_url`."""

    def __init__(self, secret: str, base_url: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt=SALT)
        self._tracking = URLSafeSerializer(secret, salt=TRACKING_SALT)
        self.base_url = base_url.rstrip("/")

    def token(self, record_id: int, expires: datetime) -> str:
        return _dump(self._serializer, record_id, expires)

    def read(self, token: str) -> tuple[int, datetime]:
        """The record id and expiry a token names; BadSignature when we did not sign it."""
        return _load(self._serializer, token)

    def tracking_token(self, record_id: int, expires: datetime) -> str:
        return _dump(self._tracking, record_id, expires)

    def read_tracking(self, token: str) -> tuple[int, datetime]:
        """A tracking token's record id and expiry; BadSignature when we did not sign it."""
        return _load(self._tracking, token)

    def tracking_link(self, pack: str, record_id: int, expires: datetime) -> str:
        """The customer's page of the record in the pack's portal (issue #23)."""
        return f"{self.base_url}/help/{pack}/track/{self.tracking_token(record_id, expires)}"

    def link(self, record_id: int, expires: datetime) -> str:
        return f"{self.base_url}/survey/{self.token(record_id, expires)}"


def _dump(serializer: URLSafeSerializer, record_id: int, expires: datetime) -> str:
    return str(serializer.dumps({"r": record_id, "x": int(expires.timestamp())}))


def _load(serializer: URLSafeSerializer, token: str) -> tuple[int, datetime]:
    data = serializer.loads(token)
    if not isinstance(data, dict) or not isinstance(data.get("r"), int):
        raise BadSignature("unexpected payload")
    return data["r"], datetime.fromtimestamp(int(data["x"]), tz=UTC)
