"""Degenerate submissions the release gate grades: generic renderings of the reference, and hand-written
cases.

A suite that gives points to a submission which solves nothing gives points for nothing.
The gate grades two kinds and refuses a release where one scores:

* **generic**, for any assignment: every solution the students write replaced by one
  degenerate body (``Form``): "return the first argument" and "return zeros shaped like
  the first argument". A test that checks only shapes, types or finiteness, compares the
  student's code only with itself (a gradient with the finite differences of the student's
  own constant function), or uses inputs on which the answer is the input or zero, passes
  one of them, and the gate names it.
* **hand-written**, per assignment, in ``assignments/<name>/degenerate/<case>/``: a
  ``case.toml`` and the owned files the case replaces, at their paths inside the package::

      description = "..."            # required: what the case does
      base = "starter"               # the owned files it leaves out: "starter" (their stubs, the
                                     # default) or "reference" (their solutions)
      groups = ["Conv2D speed"]      # optional: the point groups it must earn nothing in; without
                                     # it, the whole score must stay within free_points
"""

from __future__ import annotations

import ast
import enum
import tomllib
from dataclasses import dataclass
from pathlib import Path

from grader.authoring.markers import Block, Kind, OneLiner
from grader.authoring.stubs import HELPERS_TODO, render_with

FOLDER = "degenerate"
CASE_FILE = "case.toml"
_CASE_KEYS = {"description", "base", "groups"}
_IGNORED = {"__pycache__", ".pytest_cache"}


class Form(enum.Enum):
    """What every generated solution body does."""

    IDENTITY = "identity"
    ZEROS = "zeros"


class Base(enum.Enum):
    """Where a hand-written case's other owned files come from."""

    STARTER = "starter"
    REFERENCE = "reference"


FORM_DESCRIPTIONS = {
    Form.IDENTITY: "every solution returns its first argument unchanged",
    Form.ZEROS: "every solution returns zeros shaped like its first argument",
}


class DegenerateError(ValueError):
    """A hand-written case that cannot be used; the message names the file and what was expected."""


@dataclass(frozen=True)
class Degenerate:
    """One degenerate submission.

    Attributes:
        name: ``generic-identity``, ``generic-zeros``, or the case's folder name.
        description: what it does, for the gate's report.
        files: owned file (path inside the package) → its source; owned files not here come from ``base``.
        base: where the owned files it leaves out come from.
        groups: the point groups it must earn nothing in; empty: its whole score must stay within free points.
    """

    name: str
    description: str
    files: dict[str, str]
    base: Base = Base.STARTER
    groups: tuple[str, ...] = ()


def generic(sources: dict[str, str], owned: list[str]) -> list[Degenerate]:
    """The generic degenerate submissions of an assignment, one per ``Form``.

    Args:
        sources: the marked reference source of each file (path inside the package → text).
        owned: the files the students own.

    Raises:
        MarkerError: if a source's markers are invalid (the gate's check 1 reports those first).
    """
    rendered = [rel for rel in owned if rel in sources]
    return [Degenerate(f"generic-{form.value}", FORM_DESCRIPTIONS[form],
                       {rel: render_degenerate(sources[rel], f"beras/{rel}", form) for rel in rendered})
            for form in Form]


def render_degenerate(source: str, path: str, form: Form) -> str:
    """Render a marked reference file with every solution replaced by ``form``'s body.

    A solution block inside a function becomes ``return <value>`` (``return [<value>]`` where the
    function is annotated ``-> list``; ``pass`` in ``__init__``); a
    one-line solution keeps its target (``y = <value>``); helper blocks at class or module level
    and hidden blocks go, as in the stub. The value is the function's first parameter (after
    ``self``/``cls``) or zeros of its shape; ``None`` or ``0.0`` where the function has none.
    """
    functions = [node for node in ast.walk(ast.parse(source, path))
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]

    def around(line: int) -> ast.FunctionDef | None:
        inside = [f for f in functions if f.lineno < line <= f.end_lineno]
        return max(inside, key=lambda f: f.lineno) if inside else None

    def block_text(block: Block) -> list[str] | None:
        if block.kind is Kind.HIDDEN:
            return []
        if not block.in_function:
            return [HELPERS_TODO]
        function = around(block.begin)
        if function is not None and function.name == "__init__":
            return ["pass"]
        value = _value(function, form)
        return [f"return [{value}]" if _returns_list(function) else f"return {value}"]

    def one_liner_text(one: OneLiner) -> str:
        return one.head + _value(around(one.line), form)

    return render_with(source, path, block_text, one_liner_text, f"degenerate ({form.value}) rendering").text


def _value(function: ast.FunctionDef | None, form: Form) -> str:
    """The expression a degenerate body of ``function`` returns."""
    params = [] if function is None else [a.arg for a in function.args.posonlyargs + function.args.args]
    if params and params[0] in ("self", "cls"):
        params = params[1:]
    if not params:
        return "None" if form is Form.IDENTITY else "0.0"
    if form is Form.IDENTITY:
        return params[0]
    # No import of numpy in the rendered file: the module may not import it under that name.
    return f'__import__("numpy").zeros(__import__("numpy").shape({params[0]}))'


def _returns_list(function: ast.FunctionDef | None) -> bool:
    """Whether ``function`` is annotated to return a list (its degenerate body then returns one)."""
    returns = None if function is None else function.returns
    if isinstance(returns, ast.Subscript):
        returns = returns.value
    return isinstance(returns, ast.Name) and returns.id == "list"


def load_cases(assignment_dir: Path, owned: list[str], groups: list[str]) -> list[Degenerate]:
    """The hand-written cases in ``assignment_dir/degenerate/``, in name order (none without the folder).

    Args:
        assignment_dir: the assignment folder.
        owned: the files the students own (a case may hold only these).
        groups: the names of the assignment's point groups.

    Raises:
        DegenerateError: for a case without ``case.toml`` or files, an unknown key, a wrong value,
            a file the students do not own, or a group the assignment does not have.
    """
    folder = Path(assignment_dir) / FOLDER
    if not folder.is_dir():
        return []
    return [_load_case(case, owned, groups) for case in sorted(folder.iterdir())
            if case.is_dir() and case.name not in _IGNORED]


def _load_case(case: Path, owned: list[str], groups: list[str]) -> Degenerate:
    where = f"{case.parent.name}/{case.name}"
    if case.name.startswith("generic-"):
        raise DegenerateError(f"{where}: names starting with 'generic-' are the gate's own cases; rename the "
                              "folder")
    try:
        spec = tomllib.loads((case / CASE_FILE).read_text())
    except FileNotFoundError:
        raise DegenerateError(f"{where}: no {CASE_FILE}; expected one with at least `description`") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise DegenerateError(f"{where}/{CASE_FILE}: not readable TOML ({error})") from None
    problems = [f"unknown key {key!r} (allowed: {', '.join(sorted(_CASE_KEYS))})"
                for key in spec.keys() - _CASE_KEYS]
    description = spec.get("description")
    if not isinstance(description, str) or not description.strip():
        problems.append("`description` must be a non-empty string saying what the case does")
    base = spec.get("base", Base.STARTER.value)
    if base not in {b.value for b in Base}:
        problems.append(f"`base` must be 'starter' or 'reference', received {base!r}")
    wanted = spec.get("groups", [])
    if not isinstance(wanted, list) or not all(isinstance(g, str) for g in wanted):
        problems.append("`groups` must be a list of point-group names")
        wanted = []
    problems += [f"groups: {g!r} is not a point group of this assignment" for g in wanted if g not in groups]
    files = {}
    for path in sorted(p for p in case.rglob("*") if p.is_file()):
        rel = path.relative_to(case).as_posix()
        if rel == CASE_FILE or _IGNORED & set(path.relative_to(case).parts) or path.suffix == ".pyc":
            continue
        if rel not in owned:
            problems.append(f"{rel} is not a file the students own ({', '.join(owned)}); a case holds only "
                            "owned files, at their paths inside the package")
            continue
        files[rel] = path.read_text()
    if not files:
        problems.append("holds no owned file: put the files the case replaces beside case.toml")
    if problems:
        raise DegenerateError(f"{where}: " + "; ".join(problems))
    return Degenerate(case.name, " ".join(description.split()), files, Base(base), tuple(wanted))
