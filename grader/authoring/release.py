"""``beras-grader release``: stage a release, run the gate on it, and publish it only if the gate passes.

A release is two things in ``--out``:

* ``<name>-starter.zip``: the student's package (stubs and complete files), the public
  tests, the harness that runs them, ``run_tests.py``, ``make_submission.py`` and a README;
* ``<name>-autograder/``: the assignment folder (toml, public and hidden tests), the
  complete reference, and ``release.json`` (version, file hashes, the gate report, and each
  test's time on the reference, from which grading derives the test's per-call deadline).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import string
import tempfile
import zipfile
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from grader import environment
from grader.authoring import gate_cache
from grader.authoring.build import Trees, build_trees, ownership, write_tree
from grader.authoring.config import Assignment, PointsError, TestPoints, assign_points, load_assignment
from grader.authoring.gate import GateReport, Layout, gate_notes, run_gate
from grader.authoring.harness_files import harness_files
from grader.authoring.ripple import Published, zips_in
from grader.authoring.ripple import notes as ripple_notes
from grader.authoring.schedule import check_released_solutions, readme_schedule
from grader.authoring.suite import collect_ids

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed timestamps: the same release gives the same bytes
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


@dataclass
class Release:
    """What a release produced: the gate report and, if it passed, the paths written."""

    report: GateReport
    starter_zip: Path | None = None
    autograder_dir: Path | None = None
    version: str | None = None


def release(
    assignment_dir: Path, out: Path, *, reference_package: Path, seed: int | None = None,
    stage_dir: Path | None = None, published: Collection[str] = (),
    published_starters: Mapping[str, Published] | None = None, now: datetime | None = None,
) -> Release:
    """Build, gate and (if the gate passes) publish one assignment.

    Args:
        assignment_dir: ``assignments/<name>``; its siblings are the other assignments.
        out: where the starter zip and the autograder folder go.
        reference_package: the marked reference package (``reference/beras``).
        seed: the gate's seed (default: random; printed in the report).
        stage_dir: keep the staged release here instead of a temporary folder (for debugging).
        published: the assignments students have a release of (see ``build.ownership``).
        published_starters: the other assignments' published starter zips, to say in the report which of them
            this reference changes (default: the ``<name>-starter.zip`` files already in ``out``).
        now: the moment of the release, for the schedule check (default: the current time).

    Raises:
        AssignmentConfigError: when this assignment's toml is invalid, or it owns a file another assignment
            owns (another assignment's own problems are notes in the report).
        ReleaseOrderError: (an AssignmentConfigError) it ships the solutions of an assignment that is still
            open when its students get the starter; raised before the gate runs.
    """
    assignment, trees, test_ids = _load(assignment_dir, reference_package, published)
    check_released_solutions(assignment, reference_package, now)
    starters = zips_in(out) if published_starters is None else published_starters
    trees.notes += ripple_notes(assignment_dir.parent, reference_package, assignment.name, starters)
    seed = seed if seed is not None else secrets.randbits(31)
    with tempfile.TemporaryDirectory(prefix="beras-release-") as scratch:
        stage = Path(stage_dir) if stage_dir else Path(scratch)
        layout = stage_release(assignment, trees, stage, test_ids)
        report = gate_cache.gated(layout, seed, test_ids, assignment.name,
                                  lambda: run_gate(assignment, trees, layout, seed, test_ids))
        if report.cached_from:
            report.notes = gate_notes(assignment, trees)  # they name the current neighbours, so never kept
        autograder_root = layout.assignment_dir.parent
        (autograder_root / "gate-report.txt").write_text(report.format() + "\n")
        if not report.ok:
            return Release(report)
        out.mkdir(parents=True, exist_ok=True)
        starter_zip = out / f"{assignment.name}-starter.zip"
        shutil.copyfile(layout.starter_zip, starter_zip)  # the very zip check 9 ran
        version = _version(starter_zip, autograder_root)
        manifest = {
            "assignment": assignment.name, "title": assignment.title, "version": version,
            "released_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "queue": str(assignment.queue), "gpu_variant": str(assignment.gpu_variant),
            "starter_sha256": _sha256(starter_zip.read_bytes()), "gate": report.to_dict(),
            # Measured, so not part of the version: grading derives each test's call deadline from them.
            "reference_times_s": report.reference_times,
        }
        (autograder_root / "release.json").write_text(json.dumps(manifest, indent=1) + "\n")
        target = out / f"{assignment.name}-autograder"
        _replace_dir(autograder_root, target)
        return Release(report, starter_zip, target, version)


def _load(assignment_dir: Path, reference_package: Path,
          published: Collection[str] = ()) -> tuple[Assignment, Trees, list[str]]:
    """The assignment, its rendered trees, and every public and hidden test id."""
    assignment = load_assignment(assignment_dir, reference_root=reference_package)
    owned = ownership(assignment_dir.parent, reference_package, assignment.name, published)
    trees = build_trees(assignment, reference_package, owned.owners, owned.invalid)
    trees.notes += owned.notes
    test_ids = collect_ids(assignment.root, assignment.tests.public) + collect_ids(
        assignment.root, assignment.tests.hidden)
    return assignment, trees, test_ids


def stage_autograder(assignment_dir: Path, out: Path, *, reference_package: Path) -> Path:
    """Write ``out/<name>-autograder`` straight from the assignment folder, without the gate.

    For grading while an assignment is being written (``beras-grader grade NAME``); a release
    students see always goes through ``release``.

    Raises:
        AssignmentConfigError: as ``release``.
    """
    assignment, trees, test_ids = _load(assignment_dir, reference_package)
    with tempfile.TemporaryDirectory(prefix="beras-stage-") as scratch:
        layout = stage_release(assignment, trees, Path(scratch), test_ids)
        autograder_root = layout.assignment_dir.parent
        target = Path(out) / f"{assignment.name}-autograder"
        target.parent.mkdir(parents=True, exist_ok=True)
        _replace_dir(autograder_root, target)
    return target


def stage_release(assignment: Assignment, trees: Trees, stage: Path, test_ids: list[str]) -> Layout:
    """Write the starter tree and its zip, the autograder folder and the graded stub under ``stage``.

    ``test_ids`` (every public and hidden test) give the README its points table.
    """
    name = assignment.name
    starter = stage / "starter" / f"{name}-starter"
    write_tree(trees.starter, starter / "beras")
    shutil.copytree(assignment.public_dir, starter / assignment.tests.public, ignore=_IGNORED)
    harness = resources.files("grader.harness")
    for file in harness_files():
        target = starter / "grader" / "harness" / file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(harness.joinpath(file).read_text())
    templates = resources.files("grader.authoring").joinpath("templates")
    (starter / "grader" / "__init__.py").write_text(templates.joinpath("grader_init.py").read_text())
    for file in ("run_tests.py", "conftest.py", "pytest.ini"):
        (starter / file).write_text(templates.joinpath(file).read_text())
    owned_list = json.dumps(list(assignment.files.owned))
    (starter / "make_submission.py").write_text(templates.joinpath("make_submission.py").read_text()
                                                .replace("__OWNED__", owned_list))
    try:
        points = assign_points(assignment, test_ids)
    except PointsError:
        points = {}  # the gate's check 2 reports the mismatch; the README then shows no split
    readme = student_readme(assignment, trees, points, templates.joinpath("README.md").read_text())
    (starter / "README.md").write_text(readme)

    autograder = stage / f"{name}-autograder"
    assignment_copy = autograder / name
    shutil.copytree(assignment.root, assignment_copy, ignore=_IGNORED)
    (autograder / "test-ids.json").write_text(json.dumps(test_ids))  # the points table's ids, for grading
    write_tree(trees.reference, autograder / "reference" / "beras")
    # The student's package as it is graded: grading puts the submission's files into a copy of it. It is
    # the starter's beras/ file for file, so the judge grades with exactly what the students get.
    write_tree(trees.graded_stub, autograder / "starter" / "beras")
    graded_stub = stage / "graded-stub"
    write_tree(trees.graded_stub, graded_stub / "beras")
    # The reference solution as a student would submit it: the graded starter with the owned files solved.
    reference_submission = stage / "reference-submission"
    write_tree({**trees.graded_stub, **{rel: trees.reference[rel] for rel in assignment.files.owned
                                        if rel in trees.reference}},  # absent after a marker error
               reference_submission / "beras")
    starter_zip = stage / f"{name}-starter.zip"
    _zip_tree(starter, starter_zip)
    return Layout(starter, assignment_copy, autograder / "reference", graded_stub, reference_submission,
                  starter_zip)


def student_readme(assignment: Assignment, trees: Trees, points: dict[str, TestPoints], template: str) -> str:
    """The starter's README: what to write, how to test, how points split, how to submit."""
    owned = "\n".join(
        f"- `beras/{rel}`: "
        + ", ".join(f"`{q}`" for q in dict.fromkeys(u.qualname for u in trees.stubbed.get(rel, [])))
        for rel in assignment.files.owned
    )
    per_group = {g.group: 0.0 for g in assignment.points}
    public_points = 0.0
    for test_id, entry in points.items():
        per_group[entry.group] += entry.points
        if test_id.startswith(assignment.tests.public + "/"):
            public_points += entry.points
    total = sum(per_group.values())
    groups = "| group | points | you see the result |\n| --- | ---: | --- |\n" + "\n".join(
        f"| {g.group} | {per_group[g.group]:g} | {_WHEN[str(g.visibility)]} |" for g in assignment.points
    )
    description = assignment.description.strip() if assignment.description else _DEFAULT_DESCRIPTION
    return string.Template(template).substitute(
        description=description, schedule=readme_schedule(assignment.schedule), title=assignment.title,
        name=assignment.name, owned=owned, public_points=f"{public_points:g}",
        total_points=f"{total:g}", hidden_points=f"{total - public_points:g}", groups=groups,
        wall_time_s=f"{assignment.limits.wall_time_s:g}", call_time_s=f"{assignment.limits.call_time_s:g}",
        memory_mb=assignment.limits.memory_mb, rate_limit=assignment.submissions.rate_limit_count,
        rate_window=assignment.submissions.rate_limit_window_minutes,
        python=environment.PYTHON, numpy=environment.WHEELS["numpy"], pytest=environment.WHEELS["pytest"],
    )


# The README's words on the hidden tests when assignment.toml has no ``description``.
_DEFAULT_DESCRIPTION = ("The hidden tests check every function above on random shapes and values, its "
                        "gradients and edge cases (a batch of one, large values, zeros).")
_WHEN = {"visible": "right away", "after_due_date": "after the due date",
         "hidden": "never (instructors only)", "visible_until_due_date": "right away, until the due date"}


def _zip_tree(root: Path, target: Path) -> None:
    tmp = target.with_suffix(".zip.partial")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                info = zipfile.ZipInfo(f"{root.name}/{path.relative_to(root).as_posix()}", _ZIP_TIME)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    tmp.replace(target)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _version(starter_zip: Path, autograder_root: Path) -> str:
    """A content hash of the whole release (the same inputs give the same version)."""
    digest = hashlib.sha256(starter_zip.read_bytes())
    for path in sorted(autograder_root.rglob("*")):
        if (path.is_file() and path.name not in ("release.json", "gate-report.txt")
                and "__pycache__" not in path.parts):
            digest.update(path.relative_to(autograder_root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _replace_dir(source: Path, target: Path) -> None:
    """Put ``source``'s contents at ``target``, replacing an older release only once the copy is complete."""
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(source, partial, ignore=_IGNORED)
    if target.exists():
        old = target.with_name(target.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        partial.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        partial.rename(target)

