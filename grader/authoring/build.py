"""Render the reference package into the three trees a release needs.

* the **starter** package students get: files they own as stubs, files another assignment
  owns as stubs too (unless this assignment releases that solution), the rest complete;
* the **reference** copy the judge holds: every file complete (markers and hidden code
  removed), with a line map back to the marked source for the coverage check;
* the **graded stub**: what an untouched starter is graded as (the reference with this
  assignment's owned files stubbed), for the "stubs score nothing" check.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from grader.authoring.config import Assignment, AssignmentConfigError, discover_assignments, load_assignment
from grader.authoring.markers import Kind, MarkerError, Markup, parse
from grader.authoring.stubs import Rendered, StubbedCode, render_complete, render_stub, stubbed_code

SKIPPED_PARTS = {"__pycache__"}


@dataclass
class Trees:
    """The rendered trees, keyed by path inside the package (``layers/dense.py``)."""

    starter: dict[str, str] = field(default_factory=dict)
    reference: dict[str, Rendered] = field(default_factory=dict)
    graded_stub: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # the marked reference source of each .py file
    markups: dict[str, Markup] = field(default_factory=dict)
    stubbed: dict[str, list[StubbedCode]] = field(default_factory=dict)  # owned file -> student's work
    released: list[str] = field(default_factory=list)  # other assignments' files shipped complete, described
    released_files: list[str] = field(default_factory=list)  # the same, as paths inside the package
    withheld: list[str] = field(default_factory=list)  # files left out of the starter by files.complete
    problems: list[str] = field(default_factory=list)  # marker errors and ownership mistakes


def package_files(package: Path) -> list[str]:
    """Every file of the package, as sorted POSIX paths relative to it."""
    return sorted(
        p.relative_to(package).as_posix()
        for p in package.rglob("*")
        if p.is_file() and not SKIPPED_PARTS & set(p.relative_to(package).parts) and p.suffix != ".pyc"
    )


def owners(assignments_dir: Path, reference_package: Path) -> dict[str, str]:
    """Which assignment owns each file, across every assignment in ``assignments_dir``.

    Raises:
        AssignmentConfigError: when an assignment cannot be read, or two own the same file.
    """
    owned: dict[str, str] = {}
    for name, folder in sorted(discover_assignments(assignments_dir).items()):
        assignment = load_assignment(folder, reference_root=reference_package)
        for path in assignment.files.owned:
            if path in owned:
                raise AssignmentConfigError(
                    folder / "assignment.toml",
                    [f"files.owned: {path} is already owned by assignment {owned[path]}; a file has one owner"],
                )
            owned[path] = name
    return owned


def build_trees(assignment: Assignment, reference_package: Path, file_owners: dict[str, str]) -> Trees:
    """Render every file of ``reference_package`` for ``assignment``; problems are collected, not raised."""
    trees = Trees()
    owned = set(assignment.files.owned)
    released = set(assignment.files.solutions_released)
    for rel in package_files(reference_package):
        path = reference_package / rel
        if not rel.endswith(".py"):
            text = path.read_bytes().decode("utf-8", errors="surrogateescape")
            trees.reference[rel] = Rendered(text, ())
            trees.starter[rel] = trees.graded_stub[rel] = text
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
            trees.starter[rel] = trees.graded_stub[rel] = stub.text
            continue
        trees.graded_stub[rel] = complete.text
        if owner is not None:
            if rel in released:
                trees.released.append(f"{rel} (solution of {owner})")
                trees.released_files.append(rel)
                trees.starter[rel] = complete.text
            else:
                trees.starter[rel] = stub.text
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
    return trees


def write_tree(files: dict[str, str | Rendered], destination: Path) -> None:
    """Write ``files`` (path inside the package → text) under ``destination``."""
    for rel, content in files.items():
        target = destination / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        text = content.text if isinstance(content, Rendered) else content
        target.write_bytes(text.encode("utf-8", errors="surrogateescape"))
