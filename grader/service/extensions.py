"""Extensions: extra days on an assignment's due date (and its late window) for one student."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.db import Extension, User
from grader.service.assignments import get_assignment
from grader.service.errors import UnknownUser, Unprocessable

MAX_DAYS = 365  # the longest extension: a year


def assignment_extensions(session: Session, assignment_id: int) -> list[tuple[str, int]]:
    """The assignment's extensions as ``(email, days)``, by email."""
    rows = session.execute(select(User.email, Extension.days).join(Extension, Extension.user_id == User.id)
                           .where(Extension.assignment_id == assignment_id).order_by(User.email))
    return [(email, days) for email, days in rows]


def grant_extension(session: Session, name: str, email: str, days: int, by: User) -> dict:
    """Set (not add to) the student's extension on ``name``; 0 days takes it back.

    Raises:
        NotFound: an unknown assignment.
        UnknownUser: an unknown email.
        Unprocessable: days outside 0..MAX_DAYS.
    """
    if not 0 <= days <= MAX_DAYS:
        raise Unprocessable(f"extension days must be from 0 to {MAX_DAYS} (got {days})")
    assignment = get_assignment(session, name)
    student = session.scalar(select(User).where(User.email == email.strip().lower()))
    if student is None:
        raise UnknownUser(f"no user with email {email.strip()!r}; import the roster first")
    row = session.scalar(select(Extension).where(Extension.user_id == student.id,
                                                 Extension.assignment_id == assignment.id))
    if row is None:
        session.add(Extension(user_id=student.id, assignment_id=assignment.id, days=days, granted_by=by.id))
    else:
        row.days, row.granted_by = days, by.id
    session.commit()
    return {"assignment": name, "email": student.email, "days": days}
