"""The disk store of attached files: content-addressed, encrypted at rest, safe to share.

A file's address is `crypto.file_address` of its plain bytes (a keyed HMAC-SHA256, so equal
files are stored once and the name reveals nothing without CARELOOP_LOOKUP_KEY); its bytes
are written Fernet-encrypted with CARELOOP_DATA_KEY, like every other piece of personal data
(R-8.3). The path is `<root>/ab/cd/<address>`: two levels of 256 folders keep any one folder
small at millions of files.

Several web workers, the scheduler and other hosts may share the folder (a volume mounted at
the same path): a file is written to a temporary name beside its final one and renamed into
place, which is atomic on one file system, so a reader sees a whole file or none. Two workers
storing the same file at once both rename a whole, equally valid encryption of the same bytes
into place; the last one wins and nothing is lost. Files are never rewritten; they are deleted
only when a customer is erased and no row names them any more (`discard`).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from engine.access import crypto
from engine.errors import NotFound

DEFAULT_ROOT = Path("instance/files")
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
_ADDRESS = re.compile(r"^[0-9a-f]{64}$")


class BlobMissing(NotFound):
    """A row names a file the store does not hold (a volume not mounted, a file removed)."""


@dataclass(frozen=True)
class FileStore:
    """The folder files are kept in, and how large one file may be."""

    root: Path = DEFAULT_ROOT
    max_bytes: int = DEFAULT_MAX_BYTES

    def put(self, data: bytes) -> str:
        """Store `data` (once: equal bytes share an address) and return its address."""
        address = crypto.file_address(data)
        path = self.path_of(address)
        if path.exists():
            return address
        path.parent.mkdir(parents=True, exist_ok=True)
        token = crypto.encrypt_bytes(data)
        handle, temporary = tempfile.mkstemp(prefix=".incoming-", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(token)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return address

    def get(self, address: str) -> bytes:
        """The plain bytes at `address`; BlobMissing where the store lacks them."""
        try:
            token = self.path_of(address).read_bytes()
        except FileNotFoundError:
            raise BlobMissing(f"the file store has no file {address[:12]}…") from None
        return crypto.decrypt_bytes(token)

    def discard(self, addresses: Iterable[str]) -> None:
        """Delete these files (a customer erased, R-8.3); one already gone is no error."""
        for address in addresses:
            self.path_of(address).unlink(missing_ok=True)

    def path_of(self, address: str) -> Path:
        """Where `address` lives; only a 64-digit hex address is ever made into a path."""
        if not _ADDRESS.match(address):
            raise ValueError("not a file address")
        return self.root / address[:2] / address[2:4] / address


_store = FileStore()


def configure(root: Path | str, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    """The folder (CARELOOP_FILES_DIR) and the size limit (CARELOOP_FILES_MAX_BYTES) to use
    from now on; until called, `instance/files` under the working folder and 10 MiB."""
    global _store
    _store = FileStore(Path(root), max_bytes)


def current() -> FileStore:
    return _store
