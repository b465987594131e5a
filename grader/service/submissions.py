"""Taking a submission: check the zip and the schedule, store the blob and the row, and supersede older queued ones."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from grader.blobs import BlobStore
from grader.db import Assignment, AssignmentVersion, Extension, Role, Status, Submission, User, utcnow
from grader.intake import IntakeError, IntakeLimits, read_submission
from grader.service.errors import ServiceError, not_found
from worker.grading.released import Released, released_at


def current_version(session: Session, name: str) -> tuple[Assignment, AssignmentVersion]:
    assignment = session.scalar(select(Assignment).where(Assignment.name == name))
    if assignment is None or assignment.current_version is None:
        raise not_found("released assignment", name)
    return assignment, assignment.current_version


def extension_days(session: Session, user: User, assignment: Assignment) -> int:
    return session.scalar(select(Extension.days).where(Extension.user_id == user.id,
                                                       Extension.assignment_id == assignment.id)) or 0


@dataclass(frozen=True)
class Lateness:
    days: int
    closed: bool
    due: datetime | None
    closes: datetime | None


def lateness(version: AssignmentVersion, extension: int, at: datetime) -> Lateness:
    """Whole days late at ``at`` (a started day counts), after the student's extension; closed after the last late day."""
    if version.due_at is None:
        return Lateness(0, False, None, None)
    due = version.due_at + timedelta(days=extension)
    closes = due + timedelta(days=version.last_late_day)
    days = max(0, math.ceil((at - due) / timedelta(days=1)))
    return Lateness(days, at > closes, due, closes)


def accept(session: Session, blobs: BlobStore, user: User, name: str, data: bytes, filename: str,
           max_upload_bytes: int, now: datetime | None = None) -> Submission:
    """Check and store one submission zip as ``queued``; the caller enqueues it after this returns.

    Nothing is written unless every check passes.

    Raises:
        ServiceError: 404 unknown assignment, 403 closed, 429 over the rate limit, 422 the zip is refused.
    """
    now = now or utcnow()
    assignment, version = current_version(session, name)
    released = released_at(version.autograder_path)
    late = lateness(version, extension_days(session, user, assignment), now)
    staff = user.role in (Role.TA, Role.INSTRUCTOR)
    if late.closed and not staff:
        raise ServiceError(403, f"{name} closed at {late.closes.isoformat(timespec='minutes')} (the due date plus "
                                f"{version.last_late_day} late day(s)); submissions are no longer accepted. "
                                "Ask your instructor for an extension.")
    _check_rate(session, released, user, assignment, now, staff)
    try:
        read_submission(data, released.assignment.files.owned, IntakeLimits(max_zip_bytes=max_upload_bytes))
    except IntakeError as error:
        raise ServiceError(422, f"your submission was not accepted: {error}") from None
    sha = blobs.put(data)
    submission = Submission(user_id=user.id, assignment_id=assignment.id, version_id=version.id, blob_sha256=sha,
                            size=len(data), filename=filename[:300], created_at=now, late_days=late.days,
                            status=Status.QUEUED, queue=version.queue, queued_at=now)
    # The newest submission goes first; an older one still waiting is deferred, not dropped: under the "best"
    # policy it can still count, so it is graded once the queue has drained (worker/queue/reconciler.py).
    session.execute(update(Submission)
                    .where(Submission.user_id == user.id, Submission.assignment_id == assignment.id,
                           Submission.status == Status.QUEUED, Submission.regrade.is_(False))
                    .values(status=Status.DEFERRED, regrade=True, enqueued_at=None))
    session.add(submission)
    session.commit()
    return submission


def submit(runtime, user_id: int, name: str, data: bytes, filename: str) -> dict:
    """Take one upload end to end: check and store it, then hand it to the queue; the submission as its owner sees it.

    Raises:
        ServiceError: as ``accept`` (nothing is stored when it raises).
    """
    from grader.service.visibility import submission_view
    from worker.queue.dispatch import queue_for

    with runtime.sessions() as session:
        user = session.get(User, user_id)
        submission = accept(session, runtime.blobs, user, name, data, filename or "submission.zip",
                            runtime.settings.max_upload_bytes)
        view, queue = submission_view(submission, user), submission.queue
    # Enqueued after the commit: a worker that takes it at once finds the row as stored.
    runtime.dispatcher.enqueue(view["id"], queue_for(queue, False))
    return view


def queue_position(session: Session, submission: Submission) -> int | None:
    """1 for the next submission a grader on its queue will take; None once it is no longer waiting."""
    if submission.status != Status.QUEUED:
        return None
    since = submission.queued_at or submission.created_at
    ahead = session.scalar(select(func.count()).select_from(Submission).where(
        Submission.status == Status.QUEUED, Submission.queue == submission.queue,
        or_(Submission.queued_at < since, and_(Submission.queued_at == since, Submission.id < submission.id))))
    return int(ahead or 0) + 1


def _check_rate(session: Session, released: Released, user: User, assignment: Assignment, now: datetime,
                staff: bool) -> None:
    if staff:
        return
    policy = released.assignment.submissions
    since = now - timedelta(minutes=policy.rate_limit_window_minutes)
    recent = session.scalars(select(Submission.created_at).where(
        Submission.user_id == user.id, Submission.assignment_id == assignment.id, Submission.created_at > since)
        .order_by(Submission.created_at)).all()
    if len(recent) >= policy.rate_limit_count:
        retry = recent[0] + timedelta(minutes=policy.rate_limit_window_minutes)
        raise ServiceError(429, f"you have submitted {len(recent)} times in the last "
                                f"{policy.rate_limit_window_minutes} minutes (the limit is {policy.rate_limit_count}); "
                                f"you can submit again at {retry.isoformat(timespec='seconds')}",
                           retry_after_s=max(1, int((retry - now).total_seconds())))

