"""Read a pack folder (or a stored version's texts) into one merged mapping with positions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from workflows.errors import PackError, PackInvalid
from workflows.yamlmarks import Marks, load_yaml

DataPath = tuple[str | int, ...]
PACK_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadedPack:
    """Merged pack data plus where each part was written, so checks can report file:line:column."""

    name: str
    folder: Path
    files: dict[str, str]
    data: dict[str, object]
    source_hash: str
    marks: dict[str, Marks] = field(default_factory=dict, repr=False, compare=False)

    def display(self, file_name: str) -> str:
        """The file path shown in errors: the folder as given plus the file name."""
        return (self.folder / file_name).as_posix()

    def owner(self, path: DataPath) -> str:
        """The file that defines most of `path`; ties (e.g. the whole pack) go to pack.yaml."""
        names = sorted(self.marks, key=_pack_yaml_first)
        return max(names, key=lambda name: len(self.marks[name].prefix(path)), default="pack.yaml")

    def where(self, path: DataPath) -> tuple[str, int, int]:
        """Position of the value at `path`, or of its deepest existing parent."""
        name = self.owner(path)
        return (self.display(name), *self.marks.get(name, Marks()).locate(path))

    def where_key(self, path: DataPath) -> tuple[str, int, int]:
        """Position of the key of `path`, for errors about the key itself."""
        name = self.owner(path)
        return (self.display(name), *self.marks.get(name, Marks()).locate_key(path))

    def error(
        self, path: DataPath, message: str, hint: str | None = None, *, key: bool = False
    ) -> PackError:
        """A PackError placed at `path` (at its key when `key` is set)."""
        file, line, column = self.where_key(path) if key else self.where(path)
        return PackError(file, line, column, tuple(path), message, hint)


def load_pack(folder: str | Path) -> LoadedPack:
    """Load every *.yaml/*.yml directly in `folder` (not sub-folders such as scenarios/)."""
    folder = Path(folder)
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "does not exist"
        hint = "give the folder that holds pack.yaml"
        raise PackInvalid([PackError(str(folder), 1, 1, (), f"pack folder {problem}", hint)])
    files: dict[str, str] = {}
    errors: list[PackError] = []
    for file in sorted(folder.iterdir()):
        if file.suffix in PACK_SUFFIXES and file.is_file():
            try:
                files[file.name] = file.read_bytes().decode("utf-8")
            except UnicodeDecodeError as exc:
                message = f"file is not UTF-8 text ({exc.reason})"
                errors.append(PackError(file.as_posix(), 1, 1, (), message, "save it as UTF-8"))
    try:
        pack = load_pack_from_files(folder.resolve().name, files, str(folder))
    except PackInvalid as exc:
        raise PackInvalid(errors + exc.errors) from None
    if errors:
        raise PackInvalid(errors)
    return pack


def load_pack_from_files(name: str, files: dict[str, str], display_folder: str) -> LoadedPack:
    """Load a pack from texts by file name, as the database stores a version and the admin edits."""
    folder = Path(display_folder)
    texts = {file: text.replace("\r\n", "\n") for file, text in sorted(files.items())}
    if not texts:
        message, hint = "no pack files in this folder", "a pack needs at least pack.yaml"
        raise PackInvalid([PackError(display_folder, 1, 1, (), message, hint)])
    parsed: dict[str, dict[str, object]] = {}
    marks: dict[str, Marks] = {}
    errors: list[PackError] = []
    for file in sorted(texts, key=_pack_yaml_first):
        display = (folder / file).as_posix()
        try:
            data, marks[file] = load_yaml(texts[file], display)
        except PackInvalid as exc:
            errors.extend(exc.errors)
            continue
        if isinstance(data, dict):
            parsed[file] = data
        elif data is not None:
            message = f"a pack file must hold a mapping of keys, not {_kind(data)}"
            hint = "write top-level keys such as `record_types:`"
            errors.append(PackError(display, *marks[file].locate(()), (), message, hint))
    merged = _merge(parsed, marks, folder, errors)
    if errors:
        raise PackInvalid(errors)
    return LoadedPack(name, folder, texts, merged, source_hash(texts), marks)


def source_hash(files: dict[str, str]) -> str:
    """sha256 hex over the sorted (name, text) pairs, each UTF-8 and followed by a NUL byte."""
    digest = hashlib.sha256()
    for file, text in sorted(files.items()):
        digest.update(file.encode("utf-8") + b"\0" + text.encode("utf-8") + b"\0")
    return digest.hexdigest()


def _merge(
    parsed: dict[str, dict[str, object]],
    marks: dict[str, Marks],
    folder: Path,
    errors: list[PackError],
) -> dict[str, object]:
    """Merge top-level keys, pack.yaml first; mappings under a key (record_types) merge by entry."""
    merged: dict[str, object] = {}
    first: dict[DataPath, str] = {}  # path -> file that defined it first
    for file, data in parsed.items():
        for key, value in data.items():
            current = merged.get(key)
            if key not in merged:
                merged[key] = value
                first[(key,)] = file
                first.update({(key, entry): file for entry in _entries(value)})
            elif isinstance(current, dict) and isinstance(value, dict):
                for entry, item in value.items():
                    if entry in current:
                        where = first[(key, entry)]
                        errors.append(_twice((key, entry), file, where, marks, folder))
                    else:
                        current[entry] = item
                        first[(key, entry)] = file
            else:
                errors.append(_twice((key,), file, first[(key,)], marks, folder))
    return merged


def _twice(
    path: DataPath, file: str, first: str, marks: dict[str, Marks], folder: Path
) -> PackError:
    """Report the second definition and name the first, so the author can pick one."""
    dotted = ".".join(str(part) for part in path)
    first_at = f"{(folder / first).as_posix()}:{marks[first].locate_key(path)[0]}"
    return PackError(
        (folder / file).as_posix(),
        *marks[file].locate_key(path),
        path,
        f"'{dotted}' is defined twice",
        f"it is first defined at {first_at}",
    )


def _entries(value: object) -> list[str]:
    return list(value) if isinstance(value, dict) else []


def _pack_yaml_first(file: str) -> tuple[bool, str]:
    """Order files so pack.yaml, the main file, wins ties and counts as the first definition."""
    return file != "pack.yaml", file


def _kind(value: object) -> str:
    return "a list" if isinstance(value, list) else f"the value {str(value)[:40]!r}"


def shipped_packs(folder: Path) -> dict[str, str]:
    """Pack folders under `folder` with a one-line title and description, for listings."""
    found = {}
    for pack_file in sorted(Path(folder).glob("*/pack.yaml")):
        try:
            data, _marks = load_yaml(pack_file.read_text(encoding="utf-8"), str(pack_file))
        except PackInvalid:
            found[pack_file.parent.name] = "(pack.yaml does not parse: run careloop validate)"
            continue
        data = data if isinstance(data, dict) else {}
        line = " ".join(str(data.get("description", "")).split())
        found[pack_file.parent.name] = f"{data.get('title', '')}: {line[:80]}".strip(": ")
    return found
