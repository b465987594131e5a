"""Looking an assignment up by name, the one query every route about an assignment starts with."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grader.db import Assignment, Status, Submission
from grader.service.errors import not_found
from grader.service.submissions import release_schedule


def find_assignment(session: Session, name: str) -> Assignment | None:
    """The assignment called ``name`` (released or not), or None."""
    return session.scalar(select(Assignment).where(Assignment.name == name))


def get_assignment(session: Session, name: str, what: str = "assignment") -> Assignment:
    """The assignment called ``name``.

    Args:
        what: how the refusal names it ("no <what> 'name'"), e.g. "released assignment" on release pages.

    Raises:
        NotFound: no assignment has that name.
    """
    assignment = find_assignment(session, name)
    if assignment is None:
        raise not_found(what, name)
    return assignment


def get_released(session: Session, name: str) -> Assignment:
    """The assignment called ``name``, which has a current version.

    Raises:
        NotFound: no assignment has that name, or none of its versions is published.
    """
    assignment = find_assignment(session, name)
    if assignment is None or assignment.current_version is None:
        raise not_found("released assignment", name)
    return assignment


def released_assignments(session: Session) -> list[Assignment]:
    """Every assignment with a current version, by name."""
    return list(session.scalars(select(Assignment).where(Assignment.current_version_id.is_not(None))
                                .order_by(Assignment.name)))


def all_assignments(session: Session) -> list[Assignment]:
    """Every assignment in the database (released or not), by name."""
    return list(session.scalars(select(Assignment).order_by(Assignment.name)))


def submission_counts(session: Session, statuses: Iterable[Status] | None = None) -> dict[int, int]:
    """How many submissions each assignment has, by assignment id (one without any is left out).

    Args:
        statuses: count only submissions in one of these (e.g. ``WAITING``); default every submission.
    """
    query = select(Submission.assignment_id, func.count())
    if statuses is not None:
        query = query.where(Submission.status.in_(list(statuses)))
    return {assignment_id: count
            for assignment_id, count in session.execute(query.group_by(Submission.assignment_id))}


def status_counts(session: Session, assignment_id: int) -> dict[str, int]:
    """How many of the assignment's submissions are in each status, by the status's value (none: left out)."""
    rows = session.execute(select(Submission.status, func.count())
                           .where(Submission.assignment_id == assignment_id).group_by(Submission.status))
    return {str(status): count for status, count in rows}


def assignment_view(assignment: Assignment, extension: int = 0) -> dict:
    """The assignment as the API shows it; dates in the offset its author wrote them in."""
    version = assignment.current_version
    schedule = release_schedule(version)
    due = schedule.due + timedelta(days=extension) if schedule else None
    return {"name": assignment.name, "title": assignment.title, "version": version.version,
            "released_at": version.released_at.isoformat(), "queue": version.queue,
            "max_score": version.max_score,
            "opens_at": schedule.opens.isoformat() if schedule and schedule.opens else None,
            "due_at": due.isoformat() if due else None, "extension_days": extension,
            "closes_at": (due + timedelta(days=version.last_late_day)).isoformat() if due else None,
            "late_penalty_per_day": version.late_penalty_per_day, "last_late_day": version.last_late_day}
