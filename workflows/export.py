"""A stored pack version written back to a pack folder, for version control (issue #22 item 3).

The folder ends up holding exactly the version's files: pack files it had that the version
lacks are removed (the loader reads every *.yaml in it, so they would change the pack), and
sub-folders such as scenarios/ are left alone. `careloop validate` of the folder then gives
the same data and the same source hash as the stored version.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from workflows.loader import PACK_SUFFIXES


class UnsafeName(ValueError):
    """A stored file name that is not a plain pack file name: never written outside the folder."""


def write_pack(folder: Path, files: Mapping[str, str]) -> list[str]:
    """Write `files` (name → text) into `folder`, drop its other pack files; the names written."""
    for name in files:
        if (
            Path(name).name != name
            or name.startswith(".")
            or Path(name).suffix not in PACK_SUFFIXES
        ):
            raise UnsafeName(f"{name!r} is not a pack file name (name.yaml)")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.is_file() and old.suffix in PACK_SUFFIXES and old.name not in files:
            old.unlink()
    for name, text in sorted(files.items()):
        # newline="" keeps the text's own line ends: the digest is over the text as stored.
        with (folder / name).open("w", encoding="utf-8", newline="") as out:
            out.write(text)
    return sorted(files)
