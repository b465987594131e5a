"""Fixtures for the reports: a small course with known scores, late days and extensions, and a large synthetic
one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Self

import pytest
from sqlalchemy import event, select

from bench.course import seed_course
from grader.db import Assignment, AssignmentVersion, Extension, Result, Role, Status, Submission, User
from tests.service.conftest import make_runtime

D1 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)  # hw1's due date
D2 = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)  # hw2's due date (its first release was due a day earlier)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)

# hw1: three tests in two groups (4 + 3 + 3 points); hw2: three tests without groups (8 + 6 + 6 points).
HW1_TESTS = (("t/test_a.py::test_one", "Basics", 4.0), ("t/test_a.py::test_two", "Basics", 3.0),
             ("t/test_b.py::test_three", "Advanced", 3.0))
HW2_TESTS = (("t/test_c.py::test_x", None, 8.0), ("t/test_c.py::test_y", None, 6.0),
             ("t/test_c.py::test_z", None, 6.0))


def result_tests(catalogue, passed: str, outputs: dict[int, tuple[str, str]] | None = None) -> list[dict]:
    """A result's ``tests`` as the engine writes them: ``passed`` is one P or F per test; ``outputs`` gives
    ``(outcome, output)`` for failed tests by index (default ``failed`` with a message naming the test)."""
    outputs = outputs or {}
    tests = []
    for index, ((name, group, points), mark) in enumerate(zip(catalogue, passed, strict=True)):
        ok = mark == "P"
        outcome, output = (("passed", "") if ok
                           else outputs.get(index, ("failed", f"AssertionError: {name} failed")))
        tests.append({"name": name, "number": str(index + 1), "score": points if ok else 0.0,
                      "max_score": points,
                      "status": "passed" if ok else "failed", "outcome": outcome, "output": output,
                      "visibility": "visible", "tags": [group] if group else []})
    return tests


@dataclass
class SmallCourse:
    """The small course's runtime and the ids the tests look things up by."""

    runtime: object
    users: dict[str, int] = field(default_factory=dict)
    assignments: dict[str, int] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    submissions: dict[str, int] = field(default_factory=dict)
    grading_s: dict[str, list[float]] = field(default_factory=dict)
    turnaround_s: dict[str, list[float]] = field(default_factory=dict)

    def assignment(self, session, name: str) -> Assignment:
        return session.scalar(select(Assignment).where(Assignment.name == name))


def _submit(session, course: SmallCourse, label: str, email: str, version: str, at: datetime, status: Status,
            results: tuple[tuple[float, list[dict]], ...] = (), stored_late_days: int = 0) -> None:
    """Add a submission; each of ``results`` is ``(score, tests)``, the last one current (earlier ones
    regraded)."""
    assignment = "hw1" if version.startswith("hw1") else "hw2"
    submission = Submission(user_id=course.users[email], assignment_id=course.assignments[assignment],
                            version_id=course.versions[version], blob_sha256="0" * 64, size=10,
                            filename="s.zip", created_at=at, late_days=stored_late_days, status=status)
    session.add(submission)
    session.flush()
    for number, (score, tests) in enumerate(results, start=1):
        # Distinct durations per result, so the medians below are computed from known values.
        grading, turnaround = 10.0 * number + len(course.grading_s.get(assignment,
                                                                       [])), 60.0 + 7 * submission.id
        received = at + timedelta(seconds=1)
        result = Result(submission_id=submission.id, version_id=submission.version_id, status="graded",
                        score=score, max_score=sum(t["max_score"] for t in tests),
                        data={"status": "graded", "tests": tests},
                        attempt=number, received_at=received, queued_at=received,
                        started_at=received + timedelta(seconds=2),
                        finished_at=received + timedelta(seconds=2 + grading),
                        stored_at=received + timedelta(seconds=turnaround))
        session.add(result)
        session.flush()
        submission.current_result_id = result.id
        course.grading_s.setdefault(assignment, []).append(grading)
        course.turnaround_s.setdefault(assignment, []).append(turnaround)
    course.submissions[label] = submission.id


def _build(session, course: SmallCourse) -> None:
    people = (("ann@x.edu", "Ann Lee", Role.STUDENT),
              ("bob@x.edu", '=HYPERLINK("http://evil.example") Bob', Role.STUDENT),
              ("cat@x.edu", "", Role.STUDENT), ("dan@x.edu", "Dan de la Cruz", Role.STUDENT),
              ("tom@x.edu", "Tom TA", Role.TA))
    for email, name, role in people:
        user = User(email=email, name=name, role=role)
        session.add(user)
        session.flush()
        course.users[email] = user.id
    # Added out of name order: the gradebook orders columns by name. hw3 is never released.
    for name, title, releases in (("hw2", "", (("hw2-v1", D2 - DAY, 20.0), ("hw2-v2", D2, 20.0))),
                                  ("hw1", "Warm-up", (("hw1-v1", D1, 10.0),)), ("hw3", "Later", ())):
        assignment = Assignment(name=name, title=title)
        session.add(assignment)
        session.flush()
        course.assignments[name] = assignment.id
        for label, due, max_score in releases:
            penalty, last = (0.1, 5) if name == "hw1" else (0.25, 5)
            version = AssignmentVersion(assignment_id=assignment.id, version=label,
                                        autograder_path=f"/ag/{label}",
                                        starter_sha256="0" * 64, due_at=due, late_penalty_per_day=penalty,
                                        last_late_day=last, max_score=max_score)
            session.add(version)
            session.flush()
            course.versions[label] = version.id
            assignment.current_version_id = version.id
    session.add(Extension(user_id=course.users["cat@x.edu"], assignment_id=course.assignments["hw1"], days=1))
    t1, t2 = HW1_TESTS, HW2_TESTS
    shape = "AssertionError: wrong shape (2, 3)"
    # hw1 (due D1, 10% a day). ann: 7 on time, then 6 a day late (5.4); the later one is queued behind.
    _submit(session, course, "ann1", "ann@x.edu", "hw1-v1", D1 - 2 * DAY, Status.GRADED,
            ((7.0, result_tests(t1, "PPF", {2: ("failed", f"{shape}\nassert (2, 3) == (3, 2)")})),))
    _submit(session, course, "ann2", "ann@x.edu", "hw1-v1", D1 + HOUR, Status.GRADED,
            ((6.0, result_tests(t1, "FPP")),), stored_late_days=1)
    _submit(session, course, "ann3", "ann@x.edu", "hw1-v1", D1 + 30 * HOUR, Status.QUEUED)
    _submit(session, course, "bob1", "bob@x.edu", "hw1-v1", D1 - DAY, Status.FAILED)
    # cat: a regraded 7 (3 before), then 10 two days late, one day after her one-day extension (stored: 2
    # days).
    _submit(session, course, "cat1", "cat@x.edu", "hw1-v1", D1 - 3 * DAY, Status.GRADED,
            ((3.0, result_tests(t1, "FPF")), (7.0, result_tests(t1, "PPF"))))
    _submit(session, course, "cat2", "cat@x.edu", "hw1-v1", D1 + 2 * DAY, Status.GRADED,
            ((10.0, result_tests(t1, "PPP")),), stored_late_days=2)
    _submit(session, course, "dan1", "dan@x.edu", "hw1-v1", D1 - DAY, Status.GRADED,
            ((0.0, result_tests(t1, "FFF", {0: ("timeout", ""), 1: ("failed", "x" * 300),
                                         2: ("failed", f"  \n----\n{shape}")})),))
    _submit(session, course, "tom1", "tom@x.edu", "hw1-v1", D1 - 5 * DAY, Status.GRADED,
            ((10.0, result_tests(t1, "PPP")),))
    # hw2 (due D2, 25% a day; its first release was due D2 - 1 day).
    _submit(session, course, "ann4", "ann@x.edu", "hw2-v1", D2 - 12 * HOUR, Status.GRADED,
            ((12.0, result_tests(t2, "FPP")),), stored_late_days=1)
    _submit(session, course, "ann5", "ann@x.edu", "hw2-v2", D2 - HOUR, Status.GRADED,
            ((14.0, result_tests(t2, "PPF")),))
    _submit(session, course, "cat3", "cat@x.edu", "hw2-v2", D2 + 10 * HOUR, Status.GRADED,
            ((12.0, result_tests(t2, "FPP")),), stored_late_days=1)
    _submit(session, course, "dan2", "dan@x.edu", "hw2-v2", D2 - 2 * DAY, Status.GRADED,
            ((8.0, result_tests(t2, "PFF")),))
    _submit(session, course, "dan3", "dan@x.edu", "hw2-v2", D2 + 4 * DAY + HOUR, Status.GRADED,
            ((20.0, result_tests(t2, "PPP")),), stored_late_days=5)
    session.commit()


@pytest.fixture
def course(tmp_path) -> SmallCourse:
    """Four students (ann, bob, cat, dan) and a TA; hw1 and hw2 released, hw3 not. See ``_build`` for the
    rows."""
    runtime = make_runtime(tmp_path / "data")
    small = SmallCourse(runtime)
    with runtime.sessions() as session:
        _build(session, small)
    return small


@pytest.fixture(scope="session")
def seeded(tmp_path_factory):
    """300 students x 5 assignments x 10 submissions from ``bench.course.seed_course`` (12 tests a result)."""
    runtime = make_runtime(tmp_path_factory.mktemp("seeded") / "data")
    with runtime.sessions() as session:
        info = seed_course(session, students=300, assignments=5, submissions=10, tests_per_assignment=12,
                           seed=3)
    return runtime, info


class StatementLog:
    """The SQL statements an engine runs while the log is open."""

    def __init__(self, engine) -> None:
        self.engine, self.statements = engine, []

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    def __enter__(self) -> Self:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)
