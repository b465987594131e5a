"""Render the reference package into the three trees a release needs.

* the **starter** package students get: files they own as stubs, files another assignment
  owns as stubs too (unless this assignment releases that solution), the rest complete;
* the **reference** copy the judge holds: every file complete (markers and hidden code
  removed), with a line map back to the marked source for the coverage check;
* the **graded stub**: the judge's copy of the student package, which grading puts a submission's
  owned files into: the starter's ``beras/`` file for file (the judge grades with exactly what students
  get: another assignment's files as the starter ships them, withheld files absent).
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from grader.authoring.config import (
    CONFIG_FILE,
    Assignment,
    AssignmentConfigError,
    discover_assignments,
    load_assignment,
)
from grader.authoring.markers import Kind, MarkerError, Markup, parse
from grader.authoring.stubs import Rendered, StubbedCode, render_complete, render_stub, stubbed_code

SKIPPED_PARTS = {"__pycache__"}


@dataclass
class Trees:
    """The rendered trees, keyed by path inside the package (``layers/dense.py``)."""

    starter: dict[str, str] = field(default_factory=dict)
    reference: dict[str, Rendered] = field(default_factory=dict)
    graded_stub: dict[str, str] = field(default_factory=dict)  # equal to ``starter``: what grading runs
    sources: dict[str, str] = field(default_factory=dict)  # the marked reference source of each .py file
    markups: dict[str, Markup] = field(default_factory=dict)
    stubbed: dict[str, list[StubbedCode]] = field(default_factory=dict)  # owned file -> student's work
    released: list[str] = field(default_factory=list)  # other assignments' files shipped complete, described
    released_files: list[str] = field(default_factory=list)  # the same, as paths inside the package
    released_owners: dict[str, str] = field(default_factory=dict)  # the same -> the assignment that owns it
    withheld: list[str] = field(default_factory=list)  # files left out of the starter by files.complete
    # another assignment's file shipped as a stub -> owner
    stubbed_others: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # marker errors and ownership mistakes
    # what other assignments' folders could not say (Ownership)
    notes: list[str] = field(default_factory=list)


def package_files(package: Path) -> list[str]:
    """Every file of the package, as sorted POSIX paths relative to it."""
    return sorted(
        p.relative_to(package).as_posix()
        for p in package.rglob("*")
        if p.is_file() and not SKIPPED_PARTS & set(p.relative_to(package).parts) and p.suffix != ".pyc"
    )


@dataclass
class Ownership:
    """Which assignment owns each file of the package, and what the other assignments' folders could not
    say."""

    owners: dict[str, str] = field(default_factory=dict)  # path inside the package -> assignment name
    notes: list[str] = field(default_factory=list)  # other assignments read as written, or left out
    invalid: list[str] = field(default_factory=list)  # other assignments that did not validate (drafts)


def ownership(assignments_dir: Path, reference_package: Path, releasing: str | None = None,
              published: Collection[str] = ()) -> Ownership:
    """Which assignment owns each file, across every assignment in ``assignments_dir``.

    One assignment's problems never stop another's release. An invalid assignment other than ``releasing`` (a
    draft fresh from "New assignment", say) counts with the ``files.owned`` its file lists as written (none
    when it cannot say), with a note. A file owned by ``releasing`` and by another assignment stops the
    release, unless the other is invalid, or ``releasing`` is published and the other is not (a new copy of
    it, say): the newcomer is at fault, and its own gate refuses it. Two other assignments owning one file
    give a note.

    Args:
        assignments_dir: the folder of assignment folders.
        reference_package: the marked reference package.
        releasing: the assignment being released (its own problems are errors); None to check them all.
        published: the assignments students have a release of.

    Raises:
        AssignmentConfigError: ``releasing`` (every assignment, when None) cannot be read, or shares an owned
            file as described; the error's path is ``releasing``'s file, and its message names both.
    """
    found = Ownership()
    package = set(package_files(reference_package))
    invalid: set[str] = set()
    for name, folder in sorted(discover_assignments(assignments_dir).items()):
        if name.startswith("."):
            continue  # a new assignment being built by the service
        mine = releasing is None or name == releasing
        try:
            owned = load_assignment(folder, reference_root=reference_package).files.owned
        except AssignmentConfigError as error:
            if mine:
                raise
            owned = _owned_as_written(folder / CONFIG_FILE, package)
            invalid.add(name)
            found.invalid.append(name)
            found.notes.append(f"assignment {name} is invalid ({len(error.problems)} problem(s)) and does "
                               "not stop this release; the files it lists as owned stay stubbed: "
                               f"{', '.join(owned) or 'none'}")
        for path in owned:
            other = found.owners.setdefault(path, name)
            if other == name:
                continue
            if not (mine or other == releasing):
                found.notes.append(f"{path} is owned by both {other} and {name}; fix one of them before "
                                   "releasing it")
                continue
            me, them = (name, other) if mine else (other, name)
            if releasing is not None and (them in invalid or (me in published and them not in published)):
                found.notes.append(f"{path} is also listed as owned by {them}, which is "
                                   f"{'invalid' if them in invalid else 'not published'}: its own release is "
                                   "refused until it owns other files")
                continue
            raise AssignmentConfigError(assignments_dir / me / CONFIG_FILE, [
                f"{me}/{CONFIG_FILE}: files.owned: {path} is also owned by assignment {them}; a file has one "
                "owner"])
    return found


def owners(assignments_dir: Path, reference_package: Path) -> dict[str, str]:
    """``ownership(...).owners`` over every assignment, each of which must be valid."""
    return ownership(assignments_dir, reference_package).owners


def _owned_as_written(file: Path, package: set[str]) -> tuple[str, ...]:
    """``files.owned`` of an assignment.toml that did not validate: the listed files of the package that
    exist."""
    try:
        listed = tomllib.loads(file.read_bytes().decode("utf-8")).get("files", {}).get("owned", [])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        return ()
    if not isinstance(listed, list):
        return ()
    return tuple(path for path in listed
                 if isinstance(path, str) and path.endswith(".py") and path in package)


def build_trees(assignment: Assignment, reference_package: Path, file_owners: dict[str, str],
                drafts: Collection[str] = ()) -> Trees:
    """Render every file of ``reference_package`` for ``assignment``; problems are collected, not raised.

    ``drafts`` are other assignments that did not validate (``Ownership.invalid``): a marked file no
    assignment owns may be one of theirs, so it ships as a stub with a note instead of stopping this release.
    """
    trees = Trees()
    owned = set(assignment.files.owned)
    released = set(assignment.files.solutions_released)
    for rel in package_files(reference_package):
        path = reference_package / rel
        if not rel.endswith(".py"):
            text = path.read_bytes().decode("utf-8", errors="surrogateescape")
            trees.reference[rel] = Rendered(text, ())
            trees.starter[rel] = text
            continue
        source = path.read_text(encoding="utf-8")
        shown = f"beras/{rel}"
        try:
            markup = parse(source, shown)
            complete = render_complete(source, shown)
            stub = render_stub(source, shown)
        except MarkerError as error:
            trees.problems.append(str(error))
            continue
        trees.markups[rel] = markup
        trees.sources[rel] = source
        trees.reference[rel] = complete
        has_solution = any(block.kind is Kind.SOLUTION for block in markup.blocks) or bool(markup.one_liners)
        owner = file_owners.get(rel)
        if rel in owned:
            if not has_solution:
                trees.problems.append(f"{shown}: owned by {assignment.name} but has no solution markers")
            trees.stubbed[rel] = stubbed_code(source, shown)
            trees.starter[rel] = stub.text
            continue
        if owner is not None:
            if rel in released:
                trees.released.append(f"{rel} (solution of {owner})")
                trees.released_files.append(rel)
                trees.released_owners[rel] = owner
                trees.starter[rel] = complete.text
            else:
                trees.starter[rel] = stub.text
                trees.stubbed_others[rel] = owner
        elif has_solution and drafts:
            trees.starter[rel] = stub.text  # never its solution, whoever turns out to own it
            trees.stubbed_others[rel] = "a draft: " + ", ".join(sorted(drafts))
            trees.notes.append(f"{shown} has solution markers but no valid assignment owns it; it ships as a "
                               "stub here, as the file of an invalid draft would "
                               f"({', '.join(sorted(drafts))}): give it an owner before releasing that draft")
        elif has_solution:
            trees.problems.append(
                f"{shown}: has solution markers but no assignment owns it; add it to some assignment's "
                "files.owned, or remove the markers"
            )
        elif any(fnmatch.fnmatchcase(rel, pattern) for pattern in assignment.files.complete) or rel.endswith(
            "__init__.py"
        ):
            trees.starter[rel] = complete.text
        else:
            trees.withheld.append(rel)
    for rel in sorted(released - set(file_owners)):
        trees.problems.append(f"files.solutions_released: {rel} is not owned by any assignment")
    trees.graded_stub = dict(trees.starter)
    return trees


def stub_scopes(trees: Trees) -> dict[str, tuple[str, str]]:
    """Each stubbed scope of another assignment's file (``Dense.call``) -> (its path, its owner).

    A stub raises ``NotImplementedError("<scope>")``, so a test that reaches one names the scope;
    this says which file, and whose, the students get it as a stub in.
    """
    scopes: dict[str, tuple[str, str]] = {}
    for rel, owner in sorted(trees.stubbed_others.items()):
        for unit in stubbed_code(trees.sources[rel], f"beras/{rel}"):
            scopes.setdefault(unit.qualname, (rel, owner))
    return scopes


def write_tree(files: dict[str, str | Rendered], destination: Path) -> None:
    """Write ``files`` (path inside the package → text) under ``destination``."""
    for rel, content in files.items():
        target = destination / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        text = content.text if isinstance(content, Rendered) else content
        target.write_bytes(text.encode("utf-8", errors="surrogateescape"))
