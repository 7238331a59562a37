"""Pack errors that point at a file, line and column, so authors can fix YAML fast."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PackError:
    """One problem in a pack, printed like a compiler error so editors can jump to it."""

    file: str
    line: int
    column: int
    path: tuple[str | int, ...]
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        """Render as `file:line:column: message (hint)` for terminals and logs."""
        text = f"{self.file}:{self.line}:{self.column}: {self.message}"
        return f"{text} ({self.hint})" if self.hint is not None else text


class PackInvalid(ValueError):
    """Raised once with every error found, so authors fix a pack in one pass."""

    def __init__(self, errors: list[PackError]):
        self.errors = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))
