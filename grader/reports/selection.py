"""One assignment's grades for reports: roster, each student's attempts, the submission the policy counts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.db import Assignment, Result
from grader.service.gradebook import (
    Attempt,
    Counted,
    Schedule,
    Student,
    check_policy,
    choose,
    load_attempts,
    load_extensions,
    load_schedules,
    load_students,
)


@dataclass(frozen=True)
class AssignmentGrades:
    """Everything a per-assignment report needs except the results' test lists.

    Attributes:
        assignment: the assignment.
        policy: ``best`` or ``latest``.
        current: the current release's schedule, None when it was never released.
        schedules: every release of the assignment, by version id.
        students: the roster, by email.
        attempts: each roster student's submissions, oldest first, by user id (students with none are absent).
        extensions: extension days by user id.
        counted: the counted submission by user id (students with nothing graded are absent).
    """

    assignment: Assignment
    policy: str
    current: Schedule | None
    schedules: dict[int, Schedule]
    students: tuple[Student, ...]
    attempts: dict[int, list[Attempt]]
    extensions: dict[int, int]
    counted: dict[int, Counted]

    @property
    def max_score(self) -> float:
        return self.current.max_score if self.current else 0.0


def assignment_grades(session: Session, assignment: Assignment, policy: str = "best") -> AssignmentGrades:
    """Load one assignment's roster, attempts and counted submissions (four small queries, no result data).

    Args:
        session: an open database session.
        assignment: the assignment.
        policy: ``best`` or ``latest`` (see ``grader.service.gradebook.choose``).

    Returns:
        The assignment's grades; only students on the roster are included.

    Raises:
        ServiceError: an unknown policy (400).
    """
    check_policy(policy)
    schedules = load_schedules(session, [assignment.id])
    current = schedules.get(assignment.current_version_id) if assignment.current_version_id else None
    students = tuple(load_students(session))
    extensions = {user: days for (user, _), days in load_extensions(session, [assignment.id]).items()}
    everyone = load_attempts(session, [assignment.id])
    # Staff submit to check a release; only the roster's submissions belong in the reports.
    attempts = {s.id: everyone[(s.id, assignment.id)] for s in students if (s.id, assignment.id) in everyone}
    counted = {}
    for user, mine in attempts.items():
        chosen = choose(mine, schedules, extensions.get(user, 0), policy)
        if chosen is not None:
            counted[user] = chosen
    return AssignmentGrades(assignment, policy, current, schedules, students, attempts, extensions, counted)


def load_tests(session: Session, result_ids: list[int]) -> dict[int, list[dict]]:
    """The ``tests`` list of each given result, by result id; the only place reports read ``Result.data``."""
    if not result_ids:
        return {}
    rows = session.execute(select(Result.id, Result.data).where(Result.id.in_(result_ids)))
    return {result_id: list((data or {}).get("tests") or []) for result_id, data in rows}


def group_of(test: dict) -> str | None:
    """A result test's points group: its first tag (the engine writes ``tags: [group]``), else ``group``."""
    tags = test.get("tags")
    if isinstance(tags, list) and tags and isinstance(tags[0], str) and tags[0]:
        return tags[0]
    group = test.get("group")
    return group if isinstance(group, str) and group else None
