"""Validate a pack end to end (YAML, schema, meaning) and hand the engine what it publishes."""

from __future__ import annotations

from pathlib import Path

from engine.records.versions import PackSource
from engine.specs.build import build_pack_spec, jsonable
from workflows.errors import PackError, PackInvalid
from workflows.loader import LoadedPack, load_pack
from workflows.schema import schema_errors


def pack_errors(pack: LoadedPack) -> list[PackError]:
    """Every problem of a loaded pack: shapes first, then, if the shapes hold, meaning."""
    errors = schema_errors(pack)
    if errors:
        return errors
    if pack.data["name"] != pack.name:  # versions and records are filed under the folder's name
        errors.append(
            pack.error(
                ("name",),
                f"pack name '{pack.data['name']}' differs from its folder '{pack.name}'",
                f"write name: {pack.name}, or rename the folder",
            )
        )
    _spec, problems = build_pack_spec(pack.data)
    return errors + [pack.error(p.path, p.message, p.hint) for p in problems]


def source_of(pack: LoadedPack) -> PackSource:
    """Check `pack` and return what the engine publishes; raise PackInvalid with every error."""
    errors = pack_errors(pack)
    if errors:
        raise PackInvalid(errors)
    return PackSource(pack.name, dict(pack.files), jsonable(pack.data), pack.source_hash)


def checked_source(folder: str | Path) -> PackSource:
    """The same for a pack folder on disk (the CLI, the tests and the benches publish these)."""
    return source_of(load_pack(folder))
