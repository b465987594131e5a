"""Queries the pages share with the service: counts per assignment and status, a student's own, the roster."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from grader.db import WAITING, Assignment, AssignmentVersion, Extension, Result, Status, Submission, utcnow
from grader.service.assignments import all_assignments, status_counts, submission_counts
from grader.service.errors import NotFound
from grader.service.extensions import assignment_extensions
from grader.service.users import add_user, role_counts, roster
from grader.service.visibility import get_result, latest_submission, own_submission_counts


def _assignment(session, name: str) -> Assignment:
    row = Assignment(name=name, title=name)
    session.add(row)
    session.flush()
    version = AssignmentVersion(assignment_id=row.id, version="v1", autograder_path="x",
                                starter_sha256="f" * 64, queue="cpu", max_score=1.0, gate_report={})
    session.add(version)
    session.flush()
    row.current_version_id = version.id
    return row


def _submit(session, user, assignment: Assignment, status: Status = Status.GRADED) -> Submission:
    row = Submission(user_id=user.id, assignment_id=assignment.id, version_id=assignment.current_version_id,
                     blob_sha256="a" * 64, size=1, status=status)
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def course(runtime):
    """Assignments ``b`` then ``a``; ann with 3 submissions (2 to ``a``), ben with 1 running, tom a TA."""
    with runtime.sessions() as session:
        ann, ben = add_user(session, "ann@c.edu", "student")[0], add_user(session, "ben@c.edu", "student")[0]
        add_user(session, "tom@c.edu", "ta")
        b, a = _assignment(session, "b"), _assignment(session, "a")
        _submit(session, ann, a)
        _submit(session, ann, b, Status.FAILED)
        _submit(session, ann, a, Status.QUEUED)
        _submit(session, ben, a, Status.RUNNING)
        session.add(Extension(user_id=ben.id, assignment_id=a.id, days=2))
        session.add(Extension(user_id=ann.id, assignment_id=a.id, days=1))
        session.commit()
    return runtime


def test_counts_per_assignment_and_per_status(course):
    with course.sessions() as session:
        a, b = all_assignments(session)
        assert (a.name, b.name) == ("a", "b")
        assert submission_counts(session) == {a.id: 3, b.id: 1}
        assert submission_counts(session, WAITING) == {a.id: 2}
        assert status_counts(session, a.id) == {"graded": 1, "queued": 1, "running": 1}
        assert status_counts(session, b.id) == {"failed_to_grade": 1}
        assert assignment_extensions(session, a.id) == [("ann@c.edu", 1), ("ben@c.edu", 2)]
        assert assignment_extensions(session, b.id) == []


def test_a_students_own_counts_and_latest(course):
    with course.sessions() as session:
        ann, ben, tom = _people(session)
        a, b = all_assignments(session)
        assert own_submission_counts(session, ann) == {a.id: 2, b.id: 1}
        assert own_submission_counts(session, tom) == {}
        latest = latest_submission(session, ann, a.id)
        assert latest is not None and latest.user_id == ann.id and latest.status == Status.QUEUED
        assert latest_submission(session, ben, b.id) is None


def _people(session):
    by_email = {person.email: person for person, _ in roster(session)}
    return by_email["ann@c.edu"], by_email["ben@c.edu"], by_email["tom@c.edu"]


def test_roster_counts_tokens_and_roles(course):
    with course.sessions() as session:
        people = roster(session)
        assert [(person.email, tokens) for person, tokens in people] == [
            ("ann@c.edu", 1), ("ben@c.edu", 1), ("tom@c.edu", 1)]
        assert role_counts(session) == {"student": 2, "ta": 1}


def test_a_result_is_found_only_under_its_own_submission(course):
    with course.sessions() as session:
        first, second = session.scalars(select(Submission).order_by(Submission.id).limit(2)).all()
        result = Result(submission_id=first.id, version_id=first.version_id, status="graded", data={},
                        received_at=utcnow())
        session.add(result)
        session.commit()
        assert get_result(session, first.id, result.id) is result
        with pytest.raises(NotFound, match="no result"):
            get_result(session, second.id, result.id)
        with pytest.raises(NotFound):
            get_result(session, first.id, result.id + 1)
