"""Ownership across assignment folders: another assignment's problems are notes, this one's are errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.authoring.build import ownership
from grader.authoring.config import AssignmentConfigError

TOY = Path(__file__).resolve().parent / "toy"
REFERENCE = TOY / "reference" / "beras"


@pytest.fixture
def course(tmp_path) -> Path:
    shutil.copytree(TOY / "assignments", tmp_path / "assignments")
    return tmp_path / "assignments"


def _assignment(course: Path, name: str, text: str) -> None:
    (course / name).mkdir()
    (course / name / "assignment.toml").write_text(text)


def _copy(course: Path, name: str) -> None:
    shutil.copytree(course / "toy", course / name)
    toml = course / name / "assignment.toml"
    toml.write_text(toml.read_text().replace('name = "toy"', f'name = "{name}"'))


def test_an_invalid_other_assignment_counts_with_the_files_it_lists_and_gets_a_note(course):
    _assignment(course, "draft", 'name = "draft"\n[files]\nowned = []\n')
    _assignment(course, "broken", "this is [not toml\n")
    _assignment(course, "lister", 'name = "lister"\n[files]\nowned = ["ops.py", "nope.py", 3]\n')
    found = ownership(course, REFERENCE, "toy")
    # lister sorts first; toy is the one released, and owns it too
    assert found.owners == {"ops.py": "lister"}
    assert [note.split(" is invalid")[0] for note in found.notes[:3]] == \
        ["assignment broken", "assignment draft", "assignment lister"]
    assert "stay stubbed: ops.py" in found.notes[2] and "stay stubbed: none" in found.notes[1]
    assert "ops.py is also listed as owned by lister, which is invalid" in found.notes[3]  # not toy's problem
    with pytest.raises(AssignmentConfigError) as error:
        ownership(course, REFERENCE, "draft")
    assert error.value.path == course / "draft" / "assignment.toml"


def test_a_file_owned_twice_names_the_assignment_released_and_the_other(course):
    _copy(course, "copy")
    with pytest.raises(AssignmentConfigError) as error:
        ownership(course, REFERENCE, "toy")
    assert error.value.path == course / "toy" / "assignment.toml"
    assert error.value.problems == [("toy/assignment.toml: files.owned: ops.py is also owned by assignment "
                                     "copy; a file has one owner")]
    # Published, the original goes on; the copy's own release is refused.
    assert "not published" in ownership(course, REFERENCE, "toy", published={"toy"}).notes[0]
    with pytest.raises(AssignmentConfigError, match="copy/assignment.toml: .* also owned by assignment toy"):
        ownership(course, REFERENCE, "copy", published={"toy"})
    # Two others owning one file do not concern a third.
    _copy(course, "copy-2")
    toml = (course / "toy" / "assignment.toml").read_text().replace('owned = ["ops.py"]',
                                                                    'owned = ["__init__.py"]')
    # Its groups' units are those of ops.py, which it no longer owns.
    (course / "toy" / "assignment.toml").write_text("\n".join(line for line in toml.splitlines()
                                                              if not line.startswith("units")) + "\n")
    with pytest.raises(AssignmentConfigError):  # checked all together, as the CLI does: an error
        ownership(course, REFERENCE)
    assert "ops.py is owned by both copy and copy-2" in ownership(course, REFERENCE, "toy").notes[0]
