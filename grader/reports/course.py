"""The course gradebook: every student against every released assignment, with late penalties and totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.db import Assignment
from grader.service.gradebook import (
    check_policy,
    choose,
    load_attempts,
    load_extensions,
    load_schedules,
    load_students,
)

GRADED, MISSING = "graded", "missing"


@dataclass(frozen=True)
class CourseAssignment:
    """One released assignment, a column of the course gradebook.

    Attributes:
        id: the assignment's id.
        name: its short name (``beras-mlp``).
        title: its title (may be empty).
        max_score: the current release's maximum score.
        due_at: the current release's due date, if it has one.
    """

    id: int
    name: str
    title: str
    max_score: float
    due_at: datetime | None

    @property
    def label(self) -> str:
        """``Title (name)``, or the name alone when there is no title."""
        return f"{self.title} ({self.name})" if self.title else self.name


@dataclass(frozen=True)
class Cell:
    """One student's grade on one assignment.

    Attributes:
        submission_id: the counted submission, None when nothing was graded.
        raw_score: its current result's score before the late penalty.
        late_days: days late after the student's extension (0 when missing).
        penalty: the fraction taken off for lateness (0 to 1).
        extension_days: the student's extension on this assignment.
        score: the score after the penalty, None when missing.
        max_score: the assignment's maximum score.
        submissions: how many submissions the student made (any status).
        status: ``graded``, or ``missing`` when no submission was ever graded.
        submitted_at: when the counted submission was made.
    """

    submission_id: int | None
    raw_score: float | None
    late_days: int
    penalty: float
    extension_days: int
    score: float | None
    max_score: float
    submissions: int
    status: str
    submitted_at: datetime | None


@dataclass(frozen=True)
class StudentRow:
    """One student's row: a cell per assignment (in the gradebook's column order) and the totals.

    Attributes:
        user_id: the student's user id.
        email: the student's email.
        name: the stored name (may be empty).
        cells: one ``Cell`` per assignment, aligned with ``CourseGradebook.assignments``.
        total: the sum of the scores after penalties (a missing one counts 0).
        total_max: the sum of the assignments' maximum scores.
    """

    user_id: int
    email: str
    name: str
    cells: tuple[Cell, ...]
    total: float
    total_max: float


@dataclass(frozen=True)
class CourseGradebook:
    """Every student (by email) against every released assignment (by name).

    Attributes:
        policy: ``best`` or ``latest``.
        assignments: the columns.
        rows: one per student.
    """

    policy: str
    assignments: tuple[CourseAssignment, ...]
    rows: tuple[StudentRow, ...]

    def cell(self, email: str, assignment: str) -> Cell:
        """The cell of the student with ``email`` on the assignment named ``assignment``.

        Raises:
            KeyError: no such student or released assignment.
        """
        column = next((i for i, a in enumerate(self.assignments) if a.name == assignment), None)
        row = next((r for r in self.rows if r.email == email), None)
        if column is None or row is None:
            raise KeyError((email, assignment))
        return row.cells[column]


def course_gradebook(session: Session, policy: str = "best") -> CourseGradebook:
    """Compute the whole course's gradebook in a fixed handful of queries, whatever the number of assignments.

    Args:
        session: an open database session.
        policy: ``best`` (the highest score after its penalty) or ``latest`` (the newest graded submission).

    Returns:
        The gradebook: students ordered by email, released assignments (those with a current version) by name.

    Raises:
        ServiceError: an unknown policy (400).
    """
    check_policy(policy)
    released = session.execute(select(Assignment.id, Assignment.name, Assignment.title,
                                      Assignment.current_version_id)
                               .where(Assignment.current_version_id.is_not(None)).order_by(Assignment.name)).all()
    ids = [row.id for row in released]
    schedules = load_schedules(session, ids)
    columns = tuple(CourseAssignment(row.id, row.name, row.title or "",
                                     schedules[row.current_version_id].max_score,
                                     schedules[row.current_version_id].due_at) for row in released)
    extensions = load_extensions(session, ids)
    attempts = load_attempts(session, ids)
    total_max = round(sum(column.max_score for column in columns), 6)
    rows = []
    for student in load_students(session):
        cells = []
        for column in columns:
            key = (student.id, column.id)
            mine = attempts.get(key, [])
            extension = extensions.get(key, 0)
            counted = choose(mine, schedules, extension, policy)
            if counted is None:
                cells.append(Cell(None, None, 0, 0.0, extension, None, column.max_score, len(mine), MISSING,
                                  None))
            else:
                attempt = counted.attempt
                cells.append(Cell(attempt.id, attempt.raw_score, counted.late_days, round(counted.penalty, 6),
                                  extension, counted.score, column.max_score, len(mine), GRADED,
                                  attempt.created_at))
        total = round(sum(cell.score or 0.0 for cell in cells), 6)
        rows.append(StudentRow(student.id, student.email, student.name, tuple(cells), total, total_max))
    return CourseGradebook(policy, columns, tuple(rows))
