"""One assignment's problems never stop another's release, errors name the assignment at fault, and no
server path reaches staff (the toy assignment keeps each gate to seconds)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.db import GateRun, GateStatus
from grader.service.assignment_folders import create_assignment
from grader.service.errors import ServiceError
from grader.service.gates import run_gate, start_gate
from grader.service.releases import assignment_folder, release_assignment
from tests.service.conftest import make_runtime

TOY = Path(__file__).resolve().parents[1] / "authoring" / "toy"


@pytest.fixture
def toy(tmp_path):
    """A runtime whose assignments folder (outside the working folder, so its paths are absolute) holds the
    toy."""
    assignments = tmp_path / "course" / "assignments"
    shutil.copytree(TOY / "assignments", assignments)
    runtime = make_runtime(tmp_path / "data", assignments_dir=assignments,
                           reference=TOY / "reference" / "beras")
    runtime.private = str(tmp_path)  # no message may contain it
    return runtime


def _refused(call, *args) -> ServiceError:
    with pytest.raises(ServiceError) as refused:
        call(*args)
    return refused.value


def test_a_scaffold_draft_never_stops_another_assignment_s_release_or_gate(toy):
    create_assignment(toy.settings, "draft", "A draft")  # owned = []: invalid until a TA fills it in
    with toy.sessions() as session:
        published = release_assignment(session, toy.settings, "toy", None, seed=3)
        assert published.report["ok"], published.report_text
        assert "assignment draft is invalid" in published.report_text and "does not stop this release" in \
            published.report_text
        gate = start_gate(session, toy.settings, "toy", None, seed=3)
    run_gate(toy, gate.id)
    with toy.sessions() as session:
        row = session.get(GateRun, gate.id)
        assert row.status == GateStatus.PASSED, row.report_text or row.error
        assert any("assignment draft is invalid" in note for note in row.report["notes"])
        assert toy.private not in row.report_text + str(row.report)


def test_errors_name_the_assignment_at_fault_with_paths_from_the_assignments_folder(toy):
    create_assignment(toy.settings, "draft", "A draft")
    toml = toy.settings.assignments_dir / "toy" / "assignment.toml"
    toml.write_text(toml.read_text().replace('owned = ["ops.py"]', 'owned = ["ops.py", "nope.py"]'))
    with toy.sessions() as session:
        own = _refused(release_assignment, session, toy.settings, "toy", None)
        assert own.status == 400 and own.message.startswith("toy's assignment.toml is invalid:")
        assert "assignments/toy/assignment.toml: files.owned[1]: 'nope.py' is not a file of the reference " \
            "package (beras/nope.py does not exist)" in own.message
        draft = _refused(release_assignment, session, toy.settings, "draft", None)
        assert (draft.message.startswith("draft's assignment.toml is invalid:")
                and "files.owned" in draft.message)
        gate = start_gate(session, toy.settings, "draft", None)
    run_gate(toy, gate.id)
    missing = _refused(assignment_folder, toy.settings, "gone")
    assert missing.status == 404 and "assignments/gone/assignment.toml does not exist" in missing.message
    with toy.sessions() as session:
        row = session.get(GateRun, gate.id)
        assert (row.status == GateStatus.REFUSED
                and row.report_text.startswith("draft's assignment.toml is invalid"))
        for text in (own.message, draft.message, missing.message, row.report_text, str(row.report)):
            assert toy.private not in text


def test_a_copy_that_owns_the_same_files_stops_only_its_own_release_once_the_original_is_published(toy):
    with toy.sessions() as session:
        release_assignment(session, toy.settings, "toy", None, seed=3)
        create_assignment(toy.settings, "toy-again", "Toy again", copy_from="toy")
        again = release_assignment(session, toy.settings, "toy", None, seed=3)
        assert again.report["ok"] and "ops.py is also listed as owned by toy-again" in again.report_text
        copy = _refused(release_assignment, session, toy.settings, "toy-again", None)
        assert copy.message.startswith("toy-again's assignment.toml is invalid:")
        assert ("toy-again/assignment.toml: files.owned: ops.py is also owned by assignment toy"
                in copy.message)
