"""Build hook: the wheel carries the compiled English catalog, made from its .po at build time.

Everything else about the package is in pyproject.toml; only this step needs code. The .mo is
not kept in git (it would drift from the .po); `make install` compiles it for a checkout.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCatalogs(build_py):  # type: ignore[misc]  # setuptools' commands are untyped
    """build_py, then each web/translations/*/LC_MESSAGES/*.po compiled beside its copy."""

    def run(self) -> None:
        super().run()
        for po_path in Path("web/translations").glob("*/LC_MESSAGES/*.po"):
            target = Path(self.build_lib) / po_path.with_suffix(".mo")
            target.parent.mkdir(parents=True, exist_ok=True)
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            with target.open("wb") as mo_file:
                write_mo(mo_file, catalog, use_fuzzy=True)


setup(cmdclass={"build_py": BuildWithCatalogs})
