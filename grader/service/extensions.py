"""Extensions: extra days on an assignment's due date (and its late window) for one student."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.db import Assignment, Extension, User
from grader.service.errors import ServiceError, not_found

MAX_DAYS = 365  # the longest extension: a year


def grant_extension(session: Session, name: str, email: str, days: int, by: User) -> dict:
    """Set (not add to) the student's extension on ``name``; 0 days takes it back.

    Raises:
        ServiceError: 404 for an unknown assignment or email, 422 for days outside 0..MAX_DAYS.
    """
    if not 0 <= days <= MAX_DAYS:
        raise ServiceError(422, f"extension days must be from 0 to {MAX_DAYS} (got {days})")
    assignment = session.scalar(select(Assignment).where(Assignment.name == name))
    if assignment is None:
        raise not_found("assignment", name)
    student = session.scalar(select(User).where(User.email == email.strip().lower()))
    if student is None:
        raise ServiceError(404, f"no user with email {email.strip()!r}; import the roster first")
    row = session.scalar(select(Extension).where(Extension.user_id == student.id,
                                                 Extension.assignment_id == assignment.id))
    if row is None:
        session.add(Extension(user_id=student.id, assignment_id=assignment.id, days=days, granted_by=by.id))
    else:
        row.days, row.granted_by = days, by.id
    session.commit()
    return {"assignment": name, "email": student.email, "days": days}
