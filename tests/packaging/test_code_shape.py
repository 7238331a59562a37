"""Issue #19: the shipped code stays readable in pieces: no function above cyclomatic
complexity 15 (radon's measure) and no module above 400 lines.

Tests and benchmarks are left out: a test reads top to bottom as one story, and a
benchmark's main is a script.
"""

from __future__ import annotations

from pathlib import Path

from radon.visitors import ComplexityVisitor, Function

from tests.packaging.test_dependencies import shipped_modules

ROOT = Path(__file__).resolve().parents[2]
MAX_COMPLEXITY = 15
MAX_LINES = 400


def functions(path: Path) -> list[Function]:
    found: list[Function] = []
    pending = [
        block
        for block in ComplexityVisitor.from_code(path.read_text(encoding="utf-8")).blocks
        if isinstance(block, Function)
    ]
    while pending:
        function = pending.pop()
        found.append(function)
        pending.extend(function.closures)
    return found


def test_no_function_is_too_complex_to_follow() -> None:
    offenders = {
        f"{path.relative_to(ROOT)}:{function.lineno} {function.fullname}": function.complexity
        for path in shipped_modules()
        for function in functions(path)
        if function.complexity > MAX_COMPLEXITY
    }
    assert offenders == {}


def test_no_module_is_too_long_to_read() -> None:
    offenders = {
        str(path.relative_to(ROOT)): lines
        for path in shipped_modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert offenders == {}


def test_the_measure_sees_a_complex_function(tmp_path: Path) -> None:
    branches = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(MAX_COMPLEXITY))
    module = tmp_path / "tangled.py"
    module.write_text(f"def tangled(x):\n{branches}\n    return -1\n", encoding="utf-8")
    (tangled,) = functions(module)
    assert tangled.complexity == MAX_COMPLEXITY + 1
