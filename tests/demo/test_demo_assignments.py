"""The demo grades the samples of every assignment that ships some, the course's two first."""

from __future__ import annotations

import shutil

from grader.demo.main_job import demo_assignments
from tests.grading.conftest import ASSIGNMENTS


def test_a_new_assignment_with_samples_is_demoed_after_the_course_s_two(tmp_path):
    folder = tmp_path / "assignments"
    shutil.copytree(ASSIGNMENTS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    shipped = demo_assignments(folder)
    assert shipped[:2] == ["beras-mlp", "beras-cnn"] and "beras-dropout" in shipped[2:]
    for name, has_samples in (("aa-new", True), ("zz-draft", False)):
        (folder / name / "public_tests").mkdir(parents=True)
        (folder / name / "assignment.toml").write_text(f'name = "{name}"\n')
        if has_samples:
            (folder / name / "samples").mkdir()
    demoed = demo_assignments(folder)
    assert demoed[:2] == ["beras-mlp", "beras-cnn"]
    assert sorted(demoed[2:]) == sorted([*shipped[2:], "aa-new"])  # not zz-draft: it ships no samples
