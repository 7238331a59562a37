"""Check a pack's shape against pack.schema.json and explain each problem in plain words."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from engine.time.durations import DurationError, parse_duration, parse_offset
from workflows.errors import PackError
from workflows.loader import DataPath, LoadedPack

QUOTE_LIMIT = 40
TYPE_NAMES = {
    "object": "a mapping", "array": "a list", "string": "text", "number": "a number",
    "integer": "a whole number", "boolean": "true or false", "null": "nothing",
}  # fmt: skip
FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("careloop-duration", raises=DurationError)
def _is_duration(value: object) -> bool:
    """The engine's parser decides what a duration is, so the schema never disagrees with it."""
    if isinstance(value, str):
        parse_duration(value)
    return True


@FORMAT_CHECKER.checks("careloop-offset", raises=DurationError)
def _is_offset(value: object) -> bool:
    """Campaign offsets ('3 months') are read by the engine's own parser too."""
    if isinstance(value, str):
        parse_offset(value)
    return True


@FORMAT_CHECKER.checks("careloop-timezone", raises=(ZoneInfoNotFoundError, ValueError))
def _is_timezone(value: object) -> bool:
    """A time zone is valid when zoneinfo can load it, as the engine will."""
    if isinstance(value, str):
        ZoneInfo(value)
    return True


def schema_path() -> Path:
    """Where pack.schema.json lives, for editors (yaml-language-server) and the CLI."""
    return Path(__file__).with_name("pack.schema.json")


@cache
def validator() -> Draft202012Validator:
    """The schema validator, built once: the schema file does not change while running."""
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


def json_compatible(value: object) -> object:
    """The data as JSON sees it: YAML dates become ISO strings, keys text, tuples lists."""
    if isinstance(value, dict):
        return {str(key): json_compatible(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_compatible(item) for item in value]
    if isinstance(value, date):  # datetime is a date too
        return value.isoformat()
    return value


def schema_errors(pack: LoadedPack) -> list[PackError]:
    """Every shape problem of the pack, one per cause, sorted by file and position."""
    found: list[PackError] = []
    for error in validator().iter_errors(json_compatible(pack.data)):
        found.extend(_explain(pack, error))
    return sorted(dict.fromkeys(found), key=lambda e: (e.file, e.line, e.column, e.message))


def _explain(pack: LoadedPack, error: ValidationError) -> list[PackError]:
    """Turn one jsonschema error into short messages placed at the value (or key) concerned."""
    path = tuple(error.absolute_path)
    instance, keyword, value, schema = _parts(error)
    if schema.get("x-careloop-kind") == "duration":
        return _duration(pack, path, instance)
    if keyword == "additionalProperties":
        extras = _extra_keys(instance, schema)
        return [_unknown_key(pack, (*path, key), schema) for key in extras]
    if keyword in ("oneOf", "anyOf"):
        return _explain_choice(pack, error)
    if keyword == "required":
        missing = [key for key in value if key not in instance]
        return [pack.error(path, f"missing required key '{key}'", key=True) for key in missing]
    if keyword == "dependentRequired":
        pairs = [(k, need) for k, needs in value.items() if k in instance for need in needs]
        return [
            pack.error(path, f"missing required key '{need}'", f"'{k}' needs '{need}'", key=True)
            for k, need in pairs
            if need not in instance
        ]
    return [pack.error(path, *_describe(error))]


def _describe(error: ValidationError) -> tuple[str, str | None]:
    """Message and hint for errors about one value."""
    instance, keyword, value, schema = _parts(error)
    hint = schema.get("x-careloop-hint")
    if keyword == "type":
        return _type_message(_expected_types(error), instance)
    if keyword == "enum":
        message = f"{_quote(instance)} is not one of {', '.join(map(str, value))}"
        return message, _did_you_mean(instance, value)
    if keyword == "const":
        return f"expected {_quote(value)}, got {_quote(instance)}", None
    if keyword == "format" and value == "careloop-timezone":
        suggestion = _did_you_mean(instance, _timezones()) or "e.g. Asia/Shanghai"
        return f"unknown time zone {_quote(instance)}", suggestion
    if keyword in ("pattern", "format"):
        return f"invalid {schema.get('title', 'value').lower()} {_quote(instance)}", hint
    if keyword in ("minItems", "minProperties", "minLength"):
        what = {"minItems": "list", "minProperties": "mapping", "minLength": "text"}[keyword]
        allowed = ", ".join(schema.get("properties", {}))
        return f"this {what} must not be empty", f"use {allowed}" if allowed else None
    return "invalid value", _shorten(error.message, 80)


def _parts(error: ValidationError) -> tuple[Any, str, Any, dict[str, Any]]:
    """Instance, keyword, keyword value and schema of an error, which jsonschema types loosely."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    return error.instance, str(error.validator), error.validator_value, schema


def _expected_types(error: ValidationError) -> list[str]:
    """The JSON types a `type` error asked for."""
    value = error.validator_value
    return [value] if isinstance(value, str) else list(value)  # type: ignore[arg-type]


def _type_message(expected: list[str], instance: object) -> tuple[str, str | None]:
    """'expected a list, got text 'pending'', with a hint on the usual slip."""
    wanted = " or ".join(dict.fromkeys(TYPE_NAMES.get(name, name) for name in expected))
    hint = None
    if instance is None:
        hint = "give it a value or remove the key"
    elif "array" in expected and not isinstance(instance, dict | list):
        hint = f"write it as a list: [{_shorten(str(instance), QUOTE_LIMIT)}]"
    elif "string" in expected and isinstance(instance, bool | int | float):
        hint = "put the value in quotes"
    return f"expected {wanted}, got {_kind(instance)}", hint


def _duration(pack: LoadedPack, path: DataPath, instance: object) -> list[PackError]:
    """Let the engine's parser explain a duration; what it accepts is fine whatever the pattern."""
    try:
        parse_duration(instance)
    except DurationError as exc:
        return [pack.error(path, exc.message, exc.hint)]
    return []


def _extra_keys(instance: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Keys matching neither `properties` nor `patternProperties`."""
    names, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
    return [k for k in instance if k not in names and not any(re.search(p, k) for p in patterns)]


def _unknown_key(pack: LoadedPack, path: DataPath, schema: dict[str, Any]) -> PackError:
    """An unexpected key, placed at the key, with a did-you-mean or the allowed keys."""
    key, names = str(path[-1]), list(schema.get("properties", {}))
    if not names:  # a mapping of ids whose key breaks the naming rule
        hint = schema.get("x-careloop-hint")
        return pack.error(path, f"invalid key {_quote(key)}", hint, key=True)
    hint = _did_you_mean(key, names) or f"allowed keys: {', '.join(names)}"
    return pack.error(path, f"unknown key {_quote(key)}", hint, key=True)


def _explain_choice(pack: LoadedPack, error: ValidationError) -> list[PackError]:
    """oneOf/anyOf: explain the alternative the author evidently meant, not all of them."""
    path = tuple(error.absolute_path)
    instance, _, value, schema = _parts(error)
    if not error.context:  # valid under several: only our required-only shapes can overlap
        keys = _overlapping_keys(value, instance)
        return [pack.error(path, f"use only one of {_or(keys)}", key=True)]
    branches = _by_branch(error.context)
    own = {i: [e for e in errs if not e.relative_path] for i, errs in branches.items()}
    fitting = [i for i in branches if not _of_keyword(own[i], "type")]
    if not fitting:
        return [pack.error(path, *_type_message(_types_asked(own), instance))]
    missing = {i: _of_keyword(own[i], "required") for i in fitting}
    if all(missing.values()):
        return _missing_one_of(pack, path, instance, schema, [missing[i][0] for i in fitting])
    best = min(fitting, key=lambda i: (len(missing[i]), i))
    return [found for sub in branches[best] for found in _explain(pack, sub)]


def _overlapping_keys(branches: list[dict[str, Any]], instance: Any) -> list[str]:
    """The first required key of each alternative that the value satisfies."""
    shapes = [branch.get("required", []) for branch in branches]
    return [shape[0] for shape in shapes if shape and set(shape) <= set(instance)]


def _by_branch(context: Iterable[ValidationError]) -> dict[int, list[ValidationError]]:
    """A oneOf/anyOf error's sub-errors grouped by the alternative that raised them."""
    branches: dict[int, list[ValidationError]] = {}
    for sub in context:
        branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    return branches


def _of_keyword(errors: list[ValidationError], keyword: str) -> list[ValidationError]:
    return [e for e in errors if e.validator == keyword]


def _types_asked(own: dict[int, list[ValidationError]]) -> list[str]:
    """Every type the alternatives asked for, when the value has none of them."""
    errors = [e for errs in own.values() for e in _of_keyword(errs, "type")]
    return [name for e in errors for name in _expected_types(e)]


def _missing_one_of(
    pack: LoadedPack,
    path: DataPath,
    instance: Any,
    schema: dict[str, Any],
    required: list[ValidationError],
) -> list[PackError]:
    """Every alternative lacks a key: name the first one each lacks, in one message."""
    if any(key in instance for key in schema.get("dependentRequired", {})):
        return []  # the dependentRequired error already names the key to add
    shapes = [_parts(error)[2] for error in required]
    keys = [next(k for k in shape if k not in instance) for shape in shapes]
    return [pack.error(path, f"missing one of {_or(keys)}", key=True)]


@cache
def _timezones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def _did_you_mean(word: object, choices: Iterable[object]) -> str | None:
    """Suggest the closest allowed word, as SpiffWorkflow's validation does."""
    if not isinstance(word, str):
        return None
    close = difflib.get_close_matches(word, [str(choice) for choice in choices], n=1)
    return f"did you mean '{close[0]}'?" if close else None


def _or(words: list[str]) -> str:
    return " or ".join(f"'{word}'" for word in words)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(value: object) -> str:
    """A value for a message: quoted and cut short, never the whole instance."""
    if isinstance(value, str):
        return f"'{_shorten(value, QUOTE_LIMIT)}'"
    return _shorten(json.dumps(value, ensure_ascii=False, default=str), QUOTE_LIMIT)


def _kind(value: object) -> str:
    """How a wrong value is named in a type message."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, str):
        return f"text {_quote(value)}"
    if isinstance(value, dict | list):
        return "a mapping" if isinstance(value, dict) else "a list"
    return type(value).__name__
