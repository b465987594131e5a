"""Check 4 of the release gate: nothing of a solution or of the hidden tests is in the starter zip.

A *solution line* leaks when its code, token-normalized, appears in any line of a starter
file (in its code or in a comment on it).
Lines too small to identify a solution (``else:``, ``xp = backend.xp()``) are ignored: a
line counts when it has at least ``MIN_TOKENS`` tokens, and when it stands nowhere in the
reference outside the marked blocks (``unmarked_lines``: boilerplate such as
``x = backend.asarray(x)`` is public already). A *hidden test* leaks when its
file name, a test function's name, or the body of one of its tests (compared
as normalized syntax, so renaming does not hide it) appears in the starter. Helpers and
fixtures (``conftest.py``) may share names with starter code.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from grader.authoring.markers import Markup

MIN_TOKENS = 8
_SKIP_TOKENS = {tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT,
                tokenize.ENDMARKER}


@dataclass(frozen=True)
class Leak:
    """One leak: what leaked, from where, and where it was found."""

    what: str
    source: str
    found_in: str
    fix: str = ""

    def __str__(self) -> str:
        fix = f"; {self.fix}" if self.fix else ""
        return f"{self.what} (from {self.source}) appears in {self.found_in}{fix}"


def _solution_fix(found_in: str) -> str:
    if found_in.startswith("beras/"):
        return (f"to fix: move that line of the reference's {found_in.split(':')[0]} inside its solution "
                "block, or rewrite it so that it no longer holds the solution line")
    return f"to fix: rewrite {found_in} so that it no longer holds the solution line"


def _hidden_fix(found_in: str) -> str:
    return (f"to fix: rename or rewrite it in {found_in.split(':')[0]} (the starter), "
            "or rename the hidden test")


def normalize(line: str) -> str:
    """A line's code with comments dropped and whitespace collapsed; '' if it is not one line of code."""
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline)
                  if t.type not in _SKIP_TOKENS]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return " ".join(line.split())  # half of a bracketed expression: compare its text
    return " ".join(t.string for t in tokens)


def significant(line: str) -> bool:
    """Whether ``line`` says enough to identify a solution."""
    return len(normalize(line).split()) >= MIN_TOKENS


def unmarked_lines(sources: Mapping[str, str], markups: Mapping[str, Markup]) -> set[str]:
    """The normalized lines of the reference that stand outside every marked block and one-liner.

    Args:
        sources: path inside the package → marked source.
        markups: path → its parsed markers (a file without an entry is left out).
    """
    found = set()
    for rel, source in sources.items():
        markup = markups.get(rel)
        if markup is None:
            continue
        marked = {o.line for o in markup.one_liners}
        for block in markup.blocks:
            marked.update(range(block.begin, block.end + 1))
        code = _code_rows(source)
        found.update(normalize(line) for number, line in enumerate(source.splitlines(), 1)
                     if number in code and number not in marked)
    found.discard("")
    return found


def _code_rows(source: str) -> set[int]:
    """The rows that hold code (not only a string or a comment): a solution in a docstring stays a leak."""
    try:
        return {t.start[0] for t in tokenize.generate_tokens(io.StringIO(source).readline)
                if t.type not in _SKIP_TOKENS and t.type != tokenize.STRING}
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return set()


def solution_leaks(solution_lines: dict[str, list[tuple[int, str]]], starter: dict[str, str],
                   public: Iterable[str] = ()) -> list[Leak]:
    """Solution lines (file → [(line number, text)]) found in starter files (path → text).

    Args:
        solution_lines: the solution lines compared.
        starter: the starter's files.
        public: normalized lines that are no secret (``unmarked_lines``): a solution line among them is
            skipped.
    """
    public = set(public)
    wanted: dict[str, str] = {}
    for path, lines in solution_lines.items():
        for number, text in lines:
            if significant(text) and normalize(text) not in public:
                wanted.setdefault(normalize(text), f"{path}:{number}")
    leaks = []
    for starter_path, text in sorted(starter.items()):
        for number, line in enumerate(text.splitlines(), 1):
            found = next((key for text_key in _keys(line) for key in wanted if key in text_key), None)
            if found is not None:  # contained, not only equal: `f(<solution line>)` leaks as well
                where = f"{starter_path}:{number}"
                leaks.append(Leak(f"solution line {line.strip()!r}", wanted[found], where,
                                  _solution_fix(where)))
    return leaks


def _keys(line: str) -> list[str]:
    """The code of ``line`` and of any comment on it: a solution pasted into a comment leaks too."""
    if not line.strip():
        return []
    keys = [normalize(line)]
    if "#" in line:
        keys.append(normalize(line.split("#", 1)[1]))
    return keys


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _body_key(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]  # a docstring alone does not make two tests the same
    return ast.dump(ast.Module(body=body, type_ignores=[]), annotate_fields=False)


def hidden_test_leaks(hidden: dict[str, str], starter: dict[str, str]) -> list[Leak]:
    """Hidden test files (path → source) whose name, function names or test bodies appear in the starter."""
    leaks: list[Leak] = []
    starter_names = {Path(p).name: p for p in starter}
    starter_bodies = _starter_bodies(starter)
    for path, source in sorted(hidden.items()):
        name = Path(path).name
        if name in starter_names and (name.startswith("test_") or name.endswith("_test.py")):
            leaks.append(Leak(f"hidden test file name {name!r}", path, starter_names[name],
                              "to fix: rename the hidden test file or the starter's file"))
        try:
            functions = _functions(ast.parse(source))
        except SyntaxError:
            continue
        for function in functions:
            if function.name.startswith("test"):
                leaks += _test_name_leaks(path, function, starter)
                leaks += _test_body_leaks(path, function, starter_bodies)
    return leaks


def _starter_bodies(starter: dict[str, str]) -> dict[str, str]:
    """The body of every function in the starter's Python files (``_body_key``) → where it first is."""
    bodies: dict[str, str] = {}
    for path, text in starter.items():
        if path.endswith(".py"):
            try:
                for function in _functions(ast.parse(text)):
                    bodies.setdefault(_body_key(function), f"{path}:{function.lineno}")
            except SyntaxError:
                continue
    return bodies


def _test_name_leaks(path: str, function: ast.FunctionDef | ast.AsyncFunctionDef,
                     starter: dict[str, str]) -> list[Leak]:
    """The starter files that name the hidden test ``function`` (as a whole word), at their first mention."""
    pattern = re.compile(rf"\b{re.escape(function.name)}\b")
    leaks = []
    for starter_path, text in sorted(starter.items()):
        match = pattern.search(text)
        if match:
            line = text.count("\n", 0, match.start()) + 1
            where = f"{starter_path}:{line}"
            leaks.append(Leak(f"hidden test name {function.name!r}", f"{path}:{function.lineno}",
                              where, _hidden_fix(where)))
    return leaks


def _test_body_leaks(path: str, function: ast.FunctionDef | ast.AsyncFunctionDef,
                     starter_bodies: dict[str, str]) -> list[Leak]:
    """The starter function whose body is the hidden test ``function``'s, if any."""
    found = starter_bodies.get(_body_key(function)) if function.body else None
    if not found:
        return []
    return [Leak(f"the body of hidden test {function.name!r}", f"{path}:{function.lineno}",
                 found, _hidden_fix(found))]
