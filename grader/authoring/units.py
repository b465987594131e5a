"""Units: the functions students write, named ``<file>::<qualname>``, and the patterns that name them."""

from __future__ import annotations

import ast
import fnmatch
from dataclasses import dataclass
from pathlib import Path

from grader.authoring.markers import MarkerError
from grader.authoring.stubs import StubbedCode, stubbed_code

SEPARATOR = "::"
EXAMPLES = "'layers/dense.py::Dense.*', 'activations.py::ReLU.*' or 'losses.py::MeanSquaredError.forward'"


@dataclass(frozen=True)
class Unit:
    """One function (or class or module body) holding student code, with every solution line in it.

    Attributes:
        file: its file, relative to the package (``layers/dense.py``).
        qualname: the def/class around the code (``Dense.forward``; ``""`` at module level).
        lines: the marked source's solution lines of every block and one-liner in it.
        in_function: whether ``qualname`` names a function (else the code runs at import).
    """

    file: str
    qualname: str
    lines: tuple[int, ...]
    in_function: bool

    @property
    def name(self) -> str:
        return f"{self.file}{SEPARATOR}{self.qualname}"


def units_of(rel: str, source: str, stubbed: list[StubbedCode]) -> list[Unit]:
    """Group one file's stubbed code (``stubs.stubbed_code``) by the function it sits in, in line order."""
    functions = _function_qualnames(source)
    lines: dict[str, list[int]] = {}
    for code in stubbed:
        lines.setdefault(code.qualname, []).extend(code.lines)
    return [Unit(rel, qualname, tuple(sorted(set(rows))), qualname in functions)
            for qualname, rows in lines.items()]


def package_units(package: Path, owned: list[str] | tuple[str, ...]) -> list[Unit] | None:
    """Every unit of the owned files of the marked reference ``package``; None if a file cannot say.

    An unreadable file or invalid markers give None: the release gate's first check names those.
    """
    found = []
    for rel in owned:
        path = Path(package) / rel
        try:
            source = path.read_text(encoding="utf-8")
            found += units_of(rel, source, stubbed_code(source, f"beras/{rel}"))
        except (OSError, UnicodeDecodeError, SyntaxError, MarkerError):
            return None
    return found


def matches(pattern: str, unit_name: str) -> bool:
    """Whether ``pattern`` (fnmatch, case-sensitive) matches the whole of ``<file>::<qualname>``."""
    return fnmatch.fnmatchcase(unit_name, pattern)


def pattern_problem(pattern: str) -> str | None:
    """What is wrong with the form of a unit pattern, or None."""
    file, sep, qualname = pattern.partition(SEPARATOR)
    if not sep or not file or not qualname:
        return (f"expected a unit pattern '<file inside the package>{SEPARATOR}<qualname>', e.g. {EXAMPLES}; "
                f"received {pattern!r}")
    if file.startswith(("beras/", "/")):
        return (f"the file part starts inside the package: drop the leading {file.split('/')[0]!r}/ in "
                f"{pattern!r}")
    return None


def _function_qualnames(source: str) -> set[str]:
    """The dotted names (classes and defs, as markers name scopes) of every function in ``source``."""
    names: set[str] = set()

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                qualname = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    names.add(qualname)
                visit(child, qualname + ".")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return names
