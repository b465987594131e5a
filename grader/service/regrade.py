"""Regrades: send graded (or failed) submissions back to the ``regrade`` queue against the current release."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grader.db import Assignment, Status, Submission, utcnow
from grader.service.errors import ServiceError

REGRADABLE = (Status.GRADED, Status.FAILED)


def regrade(session: Session, assignment: Assignment, submission_ids: list[int] | None = None) -> list[int]:
    """Queue these submissions (default: every graded or failed one of the assignment) for a regrade.

    The old results stay as history; the new result becomes current when it is stored.

    Raises:
        ServiceError: 409 when a single named submission is queued or being graded now.
    """
    if assignment.current_version_id is None:
        raise ServiceError(409, f"{assignment.name} has no released version to regrade against")
    query = select(Submission.id, Submission.status).where(Submission.assignment_id == assignment.id)
    if submission_ids is not None:
        query = query.where(Submission.id.in_(submission_ids))
    rows = session.execute(query.order_by(Submission.id)).all()
    if submission_ids is not None and len(submission_ids) == 1 and rows and rows[0][1] not in REGRADABLE:
        raise ServiceError(409, f"submission {rows[0][0]} is {rows[0][1]}; only graded or failed submissions "
                                "can be regraded")
    ids = [submission_id for submission_id, status in rows if status in REGRADABLE]
    now = utcnow()
    for chunk in range(0, len(ids), 500):
        session.execute(update(Submission).where(Submission.id.in_(ids[chunk:chunk + 500]),
                                                 Submission.status.in_(REGRADABLE))
                        .values(status=Status.QUEUED, regrade=True, version_id=assignment.current_version_id,
                                queued_at=now, enqueued_at=None, not_before=None, attempts=0, failure_reason="")
                        .execution_options(synchronize_session=False))
    session.commit()
    return ids
