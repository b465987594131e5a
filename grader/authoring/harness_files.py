"""The harness modules a starter ships: the student-facing ones and every harness module they import."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

# What students' code and tests reach: run_tests.py's runner, the pytest plugin, and the names
# grader.harness exports (checks, handles, notes, imported on first use by its __getattr__).
ENTRY_FILES = ("__init__.py", "minirunner.py", "plugin.py", "checks.py", "handles.py", "notes.py")
_PACKAGE = "grader.harness"


def _module_level_imports(source: str) -> set[str]:
    """The grader.harness modules ``source`` imports at module level (not in functions or for type checks)."""
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.ImportFrom) and node.module == _PACKAGE:
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(_PACKAGE + "."):
                found.add(node.module.split(".")[2])
            elif isinstance(node, ast.Import):
                found.update(a.name.split(".")[2] for a in node.names if a.name.startswith(_PACKAGE + "."))
            elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(ast.parse(source).body)
    return found


def closure(folder: Traversable, entries: Iterable[str]) -> tuple[str, ...]:
    """The file names in ``folder`` (a copy of grader/harness/) that ``entries`` import, with them, sorted."""
    shipped: set[str] = set()
    pending = list(entries)
    while pending:
        file = pending.pop()
        if file in shipped:
            continue
        shipped.add(file)
        for module in _module_level_imports(folder.joinpath(file).read_text(encoding="utf-8")):
            if folder.joinpath(f"{module}.py").is_file():  # `from grader.harness import codec` names a module
                pending.append(f"{module}.py")
    return tuple(sorted(shipped))


@cache
def harness_files() -> tuple[str, ...]:
    """The file names under grader/harness/ that a starter ships: the closure of ``ENTRY_FILES``.

    Derived, not listed by hand, so a module split out of one of them (failures.py out of
    handles.py) ships with it instead of breaking ``run_tests.py`` in every starter.
    """
    return closure(resources.files(_PACKAGE), ENTRY_FILES)
