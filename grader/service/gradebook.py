"""The gradebook: each student's best or latest graded submission, late penalties and extensions applied."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import Enum
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.db import Assignment, AssignmentVersion, Extension, Result, Role, Status, Submission, User
from grader.service.errors import Invalid
from grader.service.submissions import lateness
from grader.spreadsheet import csv_text


class Policy(str, Enum):
    """Which of a student's graded submissions counts: the best (after late penalties) or the latest."""

    BEST = "best"
    LATEST = "latest"

    def __str__(self) -> str:
        return self.value


POLICIES = tuple(policy.value for policy in Policy)


@dataclass(frozen=True)
class Student:
    """One student on the roster."""

    id: int
    email: str
    name: str


@dataclass(frozen=True)
class Schedule:
    """The part of one release (an assignment version) that lateness, penalties and totals need.

    It stands in for the ``AssignmentVersion`` that ``lateness`` reads (``due_at`` and ``last_late_day``).
    """

    id: int
    assignment_id: int
    due_at: datetime | None
    late_penalty_per_day: float
    last_late_day: int
    max_score: float


class Attempt(NamedTuple):
    """One submission as the gradebook sees it: its time, state and current score, never the result's data.

    A named tuple rather than a dataclass: a course has tens of thousands, and tuples are several times faster
    to make.
    """

    id: int
    user_id: int
    assignment_id: int
    version_id: int
    created_at: datetime
    status: Status
    result_id: int | None
    raw_score: float | None

    @property
    def graded(self) -> bool:
        return self.status == Status.GRADED and self.result_id is not None


@dataclass(frozen=True)
class Counted:
    """The submission a policy counts for one student and assignment, and its late penalty.

    Attributes:
        attempt: the counted submission.
        late_days: whole days late, counted again with the student's current extension.
        penalty: the fraction taken off, ``min(1, late_days * late_penalty_per_day)``.
        score: the current result's score after the penalty.
    """

    attempt: Attempt
    late_days: int
    penalty: float
    score: float


@dataclass
class Row:
    email: str
    name: str
    submission_id: int | None
    submitted_at: str
    raw_score: float | None
    late_days: int
    penalty: float
    score: float | None
    max_score: float
    submissions: int


def check_policy(policy: str) -> None:
    """Raise a 400 ``ServiceError`` unless ``policy`` is ``best`` or ``latest``."""
    if policy not in POLICIES:  # the API passes the query's text
        raise Invalid(f"unknown policy {policy!r}; expected best or latest")


def load_students(session: Session) -> list[Student]:
    """Every user with the student role, ordered by email."""
    rows = session.execute(select(User.id, User.email, User.name).where(User.role == Role.STUDENT)
                           .order_by(User.email))
    return [Student(*row) for row in rows]


def load_schedules(session: Session, assignment_ids: Iterable[int]) -> dict[int, Schedule]:
    """Every version of the given assignments, by version id (a submission is judged by its own version)."""
    ids = list(assignment_ids)
    if not ids:
        return {}
    rows = session.execute(select(AssignmentVersion.id, AssignmentVersion.assignment_id,
                                  AssignmentVersion.due_at, AssignmentVersion.late_penalty_per_day,
                                  AssignmentVersion.last_late_day, AssignmentVersion.max_score)
                           .where(AssignmentVersion.assignment_id.in_(ids)))
    return {row[0]: Schedule(*row) for row in rows}


def load_extensions(session: Session, assignment_ids: Iterable[int]) -> dict[tuple[int, int], int]:
    """Extension days by ``(user id, assignment id)``."""
    ids = list(assignment_ids)
    if not ids:
        return {}
    rows = session.execute(select(Extension.user_id, Extension.assignment_id, Extension.days)
                           .where(Extension.assignment_id.in_(ids)))
    return {(user_id, assignment_id): days for user_id, assignment_id, days in rows}


def load_attempts(session: Session, assignment_ids: Iterable[int]) -> dict[tuple[int, int], list[Attempt]]:
    """Every submission of the given assignments in one query, by ``(user id, assignment id)``, oldest first.

    Only the columns the gradebook needs are read: never ``Result.data``, which is most of the database's
    bytes.
    """
    ids = list(assignment_ids)
    if not ids:
        return {}
    # Executed on the connection: plain rows, without the ORM's per-row bookkeeping (a third of the time
    # here).
    rows = session.connection().execute(
        select(Submission.id, Submission.user_id, Submission.assignment_id, Submission.version_id,
               Submission.created_at, Submission.status, Result.id, Result.score)
        .outerjoin(Result, Submission.current_result_id == Result.id)
        .where(Submission.assignment_id.in_(ids))
        .order_by(Submission.created_at, Submission.id))
    attempts: dict[tuple[int, int], list[Attempt]] = {}
    for row in rows:
        attempts.setdefault((row[1], row[2]), []).append(Attempt._make(row))
    return attempts


def choose(attempts: Iterable[Attempt], schedules: dict[int, Schedule], extension: int,
           policy: str) -> Counted | None:
    """The submission ``policy`` counts among one student's attempts at one assignment (oldest first).

    ``best`` picks the highest score after its late penalty (the earliest on a tie); ``latest`` the newest
    graded one. Late days are counted again from each submission's time and ``extension``, so an extension
    granted after
    the fact is honoured. Returns None when nothing was graded.
    """
    chosen: Counted | None = None
    for attempt in attempts:
        if not attempt.graded:
            continue
        schedule = schedules[attempt.version_id]
        late = lateness(schedule, extension, attempt.created_at).days
        penalty = min(1.0, late * schedule.late_penalty_per_day)
        final = round((attempt.raw_score or 0.0) * (1 - penalty), 6)
        if chosen is None or policy == Policy.LATEST or final > chosen.score:
            chosen = Counted(attempt, late, penalty, final)
    return chosen


def gradebook(session: Session, assignment: Assignment, policy: Policy | str = Policy.BEST) -> list[Row]:
    """One row per student on the roster (students who never submitted get an empty score).

    See ``choose`` for the policies and how late days are counted.
    """
    check_policy(policy)
    schedules = load_schedules(session, [assignment.id])
    current = schedules.get(assignment.current_version_id) if assignment.current_version_id else None
    max_score = current.max_score if current else 0.0
    extensions = load_extensions(session, [assignment.id])
    attempts = load_attempts(session, [assignment.id])
    rows = []
    for student in load_students(session):
        key = (student.id, assignment.id)
        mine = attempts.get(key, [])
        counted = choose(mine, schedules, extensions.get(key, 0), policy)
        if counted is None:
            rows.append(Row(student.email, student.name, None, "", None, 0, 0.0, None, max_score, len(mine)))
            continue
        attempt = counted.attempt
        rows.append(Row(student.email, student.name, attempt.id, attempt.created_at.isoformat(),
                        attempt.raw_score, counted.late_days, round(counted.penalty, 4), counted.score,
                        max_score, len(mine)))
    return rows


def as_dicts(rows: list[Row]) -> list[dict]:
    return [asdict(row) for row in rows]


def as_csv(rows: list[Row]) -> str:
    """The gradebook as CSV, one row per student; names a spreadsheet would run as formulas are escaped."""
    header = ["email", "name", "score", "max_score", "raw_score", "late_days", "late_penalty",
              "submission_id", "submitted_at", "submissions"]
    return csv_text([header, *([r.email, r.name, "" if r.score is None else f"{r.score:g}",
                                f"{r.max_score:g}", "" if r.raw_score is None else f"{r.raw_score:g}",
                                r.late_days, f"{r.penalty:g}", r.submission_id or "", r.submitted_at,
                                r.submissions] for r in rows)])
