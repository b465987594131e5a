"""Toy releases staged without the gate (seconds, not minutes), for the tests of what publishing changes."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

from grader.authoring.release import stage_autograder

TOY = Path(__file__).resolve().parents[1] / "authoring" / "toy"
TOY_REFERENCE = TOY / "reference" / "beras"
NEW_TEST = ("\n\ndef test_double_zeros(student):\n    assert_close(student.beras.double(np.zeros(2)), "
            "np.zeros(2))\n")
MORE = "import numpy as np\nfrom grader.harness import assert_close\n\ndef test_more(student):\n" \
       "    assert_close(student.beras.double(np.ones(1)), np.full(1, 2.0))\n"


def toy_course(root: Path) -> Path:
    """A copy of the toy's assignments folder under ``root`` (the tests edit it between two releases)."""
    assignments = root / "assignments"
    shutil.copytree(TOY / "assignments", assignments, ignore=shutil.ignore_patterns("__pycache__"))
    return assignments


def stage(assignment_dir: Path, out: Path, version: str, readme: str = "# Toy\n") -> tuple[Path, Path]:
    """``(autograder folder, starter zip)`` of ``assignment_dir`` as it is now, released as ``version``.

    The zip holds what a starter holds for the diff (the student's package, the public tests, a README), and
    ``release.json`` only the version: the gate is not what these tests are about.
    """
    autograder = stage_autograder(assignment_dir, out, reference_package=TOY_REFERENCE)
    (autograder / "release.json").write_text(json.dumps({"version": version}))
    name = assignment_dir.name
    starter = out / f"{name}-starter.zip"
    top = f"{name}-starter"
    with zipfile.ZipFile(starter, "w") as archive:
        archive.writestr(f"{top}/README.md", readme)
        for base, prefix in ((autograder / "starter", ""),
                             (assignment_dir / "public_tests", "public_tests/")):
            for path in sorted(base.rglob("*.py")):
                archive.writestr(f"{top}/{prefix}{path.relative_to(base).as_posix()}", path.read_bytes())
    return autograder, starter


def change_toy(assignment_dir: Path) -> None:
    """The second release's edits: a hidden test and a public test file added, the hidden points raised, a
    test moved to a new group, the public group's visibility, a limit and a due date."""
    hidden = assignment_dir / "hidden_tests" / "test_ops.py"
    hidden.write_text(hidden.read_text() + NEW_TEST)
    (assignment_dir / "public_tests" / "test_more.py").write_text(MORE)
    toml = assignment_dir / "assignment.toml"
    text = toml.read_text().replace('visibility = "visible"', 'visibility = "after_due_date"')
    text = text.replace('tests = ["hidden_tests/*"]\npoints = 8',
                        'tests = ["hidden_tests/*::test_double*"]\npoints = 10')
    text += ('[[points]]\ngroup = "sum"\ntests = ["hidden_tests/*::test_scale*"]\npoints = 3\n'
             '[limits]\nwall_time_s = 300\n[schedule]\ndue = 2027-01-15T23:59:00-05:00\n')
    toml.write_text(text)
