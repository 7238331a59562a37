"""Keys for personal data at rest: Fernet to encrypt, a keyed hash (HMAC-SHA256) to look up.

Both keys come from the configuration (R-8.3), handed over with `configure()` by whoever
starts the process (ops/settings.py reads them; the engine never reads the environment):
- CARELOOP_DATA_KEY: one Fernet key, or several separated by commas (the first encrypts,
  all decrypt: rotate by putting a new key first, then re-saving rows);
- CARELOOP_LOOKUP_KEY: any long random string; the hash of a contact under it finds the
  customer without decrypting every row, and is useless to whoever lacks the key.
Without them the app refuses to touch personal data, unless CARELOOP_INSECURE_DEV=1 says this
is a developer's machine or a test run; then fixed, public development keys are used.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

DEV_DATA_KEY = base64.urlsafe_b64encode(b"careloop-insecure-development-ke").decode()
DEV_LOOKUP_KEY = "careloop-insecure-development-lookup-key"


class MissingKey(RuntimeError):
    """No key configured, and not a development machine."""


@dataclass(frozen=True)
class _Keys:
    data_keys: str = ""
    lookup_key: str = ""
    insecure_dev: bool = False


_keys = _Keys()


def configure(data_keys: str, lookup_key: str, *, insecure_dev: bool = False) -> None:
    """The keys to use from now on: CARELOOP_DATA_KEY's and CARELOOP_LOOKUP_KEY's values, and
    whether CARELOOP_INSECURE_DEV=1 allows the public development keys where one is missing.
    Until called, no key is configured and personal data is refused."""
    global _keys
    _keys = _Keys(data_keys.strip(), lookup_key.strip(), insecure_dev)


def _setting(name: str, value: str, dev_default: str) -> str:
    if value:
        return value
    if _keys.insecure_dev:
        return dev_default
    raise MissingKey(
        f"{name} is not set: personal data cannot be encrypted or read. "
        "Generate one with `careloop keys new` and keep it in the environment "
        "(CARELOOP_INSECURE_DEV=1 uses a public development key, never in production)."
    )


def _data_keys() -> str:
    return _setting("CARELOOP_DATA_KEY", _keys.data_keys, DEV_DATA_KEY)


@functools.cache
def _fernet(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(key.strip().encode()) for key in keys.split(",") if key.strip()])


def encrypt(plain: str) -> str:
    return _fernet(_data_keys()).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(_data_keys()).decrypt(token.encode()).decode()
    except InvalidToken:
        raise MissingKey(
            "stored personal data does not open with CARELOOP_DATA_KEY: wrong or rotated-out key"
        ) from None


def encrypt_bytes(plain: bytes) -> bytes:
    """A file's bytes as a Fernet token (ASCII bytes), like `encrypt` does for text."""
    return _fernet(_data_keys()).encrypt(plain)


def decrypt_bytes(token: bytes) -> bytes:
    try:
        return _fernet(_data_keys()).decrypt(token)
    except InvalidToken:
        raise MissingKey(
            "a stored file does not open with CARELOOP_DATA_KEY: wrong or rotated-out key"
        ) from None


def normalise(value: str) -> str:
    """The form lookups compare: no spaces or dashes, lower case (138-1234 5678 = 13812345678)."""
    return "".join(ch for ch in value.lower() if ch not in " -\t()")


def lookup_hash(value: str | None) -> str | None:
    """The keyed hash of a contact, for exact lookup; None for none."""
    if not value:
        return None
    key = _setting("CARELOOP_LOOKUP_KEY", _keys.lookup_key, DEV_LOOKUP_KEY).encode()
    return hmac.new(key, normalise(value).encode(), hashlib.sha256).hexdigest()


def file_address(plain: bytes) -> str:
    """A file's name in the disk store: HMAC-SHA256 of its bytes under CARELOOP_LOOKUP_KEY.

    Equal files get one name (stored once), and the name says nothing to whoever lacks the
    key: a plain SHA-256 would let anyone holding a copy of a file learn that it is stored.
    """
    key = _setting("CARELOOP_LOOKUP_KEY", _keys.lookup_key, DEV_LOOKUP_KEY).encode()
    return hmac.new(key, b"careloop-file\0" + plain, hashlib.sha256).hexdigest()


def new_key() -> str:
    return Fernet.generate_key().decode()
