"""TA pages: archive or delete an assignment folder; the database says what is published."""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from grader.app import create_app
from grader.db import Assignment, AssignmentVersion
from grader.service.users import add_user, new_token
from tests.grading.conftest import ASSIGNMENTS
from tests.service.conftest import Parked, make_runtime
from tests.web.conftest import Site, text_of


@pytest.fixture
def site(tmp_path) -> Site:
    """The pages over a copy of the assignments, beras-cnn marked published in the database (no gate run)."""
    assignments = tmp_path / "assignments"
    shutil.copytree(ASSIGNMENTS, assignments, ignore=shutil.ignore_patterns("__pycache__"))
    runtime = make_runtime(tmp_path / "data", sandbox="local")
    runtime.settings.assignments_dir = assignments
    runtime.dispatcher = Parked(runtime)
    sessions = {}
    with runtime.sessions() as session:
        row = Assignment(name="beras-cnn", title="Beras 2")
        session.add(row)
        session.flush()
        version = AssignmentVersion(assignment_id=row.id, version="v1", autograder_path="x",
                                    starter_sha256="0" * 64, queue="cpu", max_score=100.0, gate_report={})
        session.add(version)
        session.flush()
        row.current_version_id = version.id
        for who, role in (("tom", "ta"), ("ann", "student")):
            user, _ = add_user(session, f"{who}@course.edu", role, who.capitalize())
            sessions[who] = new_token(session, user, kind="session")
        session.commit()
    with TestClient(create_app(runtime, background=False)) as client:
        yield Site(client, runtime, sessions, {})


def test_a_draft_made_on_the_new_page_can_be_deleted(site):
    made = site.post("tom", "/staff/assignments/new", {"name": "zz-draft", "title": "Draft", "copy_from": ""})
    assert made.status_code == 303
    page = site.get("tom", "/staff/assignments/zz-draft")
    assert 'action="/staff/assignments/zz-draft/delete"' in page.text
    deleted = site.post("tom", "/staff/assignments/zz-draft/delete")
    assert deleted.status_code == 303 and deleted.headers["location"] == "/staff?notice=deleted"
    assert not (site.runtime.settings.assignments_dir / "zz-draft").exists()
    assert "Draft assignment deleted" in text_of(site.get("tom", deleted.headers["location"]).text)


def test_a_published_assignment_cannot_be_deleted_and_says_to_archive_it(site):
    page = site.get("tom", "/staff/assignments/beras-cnn")
    assert "/staff/assignments/beras-cnn/delete" not in page.text  # no button for what would be refused
    refused = site.post("tom", "/staff/assignments/beras-cnn/delete")
    assert refused.status_code == 409
    words = text_of(refused.text)
    assert "'beras-cnn' is published" in words and "archive it instead" in words
    assert (site.runtime.settings.assignments_dir / "beras-cnn" / "assignment.toml").is_file()


def test_archive_moves_the_folder_and_the_overview_no_longer_lists_it_as_a_folder(site):
    archived = site.post("tom", "/staff/assignments/beras-mlp/archive")
    assert archived.status_code == 303 and archived.headers["location"] == "/staff?notice=archived"
    root = site.runtime.settings.assignments_dir
    assert not (root / "beras-mlp").exists()
    assert len(list((root / ".archive").glob("beras-mlp-*"))) == 1
    overview = site.get("tom", archived.headers["location"])
    assert "Assignment archived" in text_of(overview.text)
    assert "/staff/assignments/beras-mlp" not in overview.text
    assert site.post("tom", "/staff/assignments/beras-mlp/archive").status_code == 404


def test_students_and_forged_forms_cannot_archive_or_delete(site):
    assert site.post("ann", "/staff/assignments/beras-mlp/delete").status_code in (302, 303, 403)
    assert site.post("tom", "/staff/assignments/beras-mlp/delete", csrf=False).status_code in (400, 403)
    assert (site.runtime.settings.assignments_dir / "beras-mlp" / "assignment.toml").is_file()
