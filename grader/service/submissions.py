"""Submissions: admit it before its body arrives, check the zip, store it under an atomic rate limit."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import and_, func, or_, select, union_all, update
from sqlalchemy.orm import Session

from grader.authoring.config import Assignment as AssignmentConfig
from grader.authoring.config import Schedule
from grader.authoring.released import ReleaseError, released_at
from grader.authoring.schedule import moment
from grader.blobs import BlobStore
from grader.db import (
    Assignment,
    AssignmentVersion,
    Extension,
    RefusedUpload,
    Role,
    Status,
    Submission,
    User,
    utcnow,
)
from grader.dispatch import queue_for
from grader.intake import IntakeError, IntakeLimits, read_submission
from grader.runtime import Runtime
from grader.service.errors import Forbidden, RateLimited, ServiceError, Unprocessable, not_found


def current_version(session: Session, name: str) -> tuple[Assignment, AssignmentVersion]:
    found = session.execute(select(Assignment, AssignmentVersion)
                            .join(AssignmentVersion, Assignment.current_version_id == AssignmentVersion.id)
                            .where(Assignment.name == name)).first()  # one round trip: every upload asks
    if found is None:
        raise not_found("released assignment", name)
    return found[0], found[1]


def extension_days(session: Session, user: User, assignment: Assignment) -> int:
    return session.scalar(select(Extension.days).where(Extension.user_id == user.id,
                                                       Extension.assignment_id == assignment.id)) or 0


def release_config(version: AssignmentVersion) -> AssignmentConfig:
    """The release's assignment.toml as published (read once per process)."""
    return released_at(version.autograder_path).assignment


def release_schedule(version: AssignmentVersion) -> Schedule | None:
    """The release's ``[schedule]`` as its author wrote it (the opening date, and the due date's offset)."""
    return release_config(version).schedule


def shown_schedule(version: AssignmentVersion) -> Schedule | None:
    """``release_schedule`` for the staff pages: None also when the release's folder can no longer be read, so
    the page still shows the rest (archiving or restoring the folder is how staff mend it)."""
    try:
        return release_schedule(version)
    except ReleaseError:
        return None


def opens_at(version: AssignmentVersion) -> datetime | None:
    """When students may first download the release's starter and submit; None when from the start."""
    schedule = release_schedule(version)
    return schedule.opens if schedule is not None else None


def first_open(version: AssignmentVersion, now: datetime | None = None) -> datetime:
    """The first moment from ``now`` at which students may submit to the release: ``now``, or its opening."""
    now = now or utcnow()
    opens = opens_at(version)
    return opens if opens is not None and opens > now else now


def check_open(user: User, name: str, version: AssignmentVersion, now: datetime | None = None) -> None:
    """Refuse a student the starter and uploads of an assignment that has not opened yet (staff may prepare).

    Raises:
        ServiceError: 403 naming the opening date.
    """
    opens = opens_at(version)
    if opens is not None and (now or utcnow()) < opens and user.role not in (Role.TA, Role.INSTRUCTOR):
        raise Forbidden(f"{name} opens {moment(opens)}; its starter code and submissions are available "
                        "from then.")


@dataclass(frozen=True)
class Lateness:
    days: int
    closed: bool
    due: datetime | None
    closes: datetime | None


def lateness(version: AssignmentVersion, extension: int, at: datetime) -> Lateness:
    """Days late at ``at`` (a started day counts), after the extension; closed past the last late day."""
    if version.due_at is None:
        return Lateness(0, False, None, None)
    due = version.due_at + timedelta(days=extension)
    closes = due + timedelta(days=version.last_late_day)
    days = max(0, math.ceil((at - due) / timedelta(days=1)))
    return Lateness(days, at > closes, due, closes)


@dataclass(frozen=True)
class Admission:
    """An upload that passed every check needing no body: who, to which release, when, the limits that apply.

    Attributes:
        user_id, assignment_id, version_id, name: the caller and the assignment's current release.
        received_at: when the upload began; lateness and the rate window count from here, so a student whose
            upload is still arriving at the due time is not made late by the network.
        late_days: whole days late at ``received_at``.
        staff: TAs and instructors skip the schedule and the rate limit.
        queue: the release's queue.
        owned: the files the student writes, for intake.
        rate_count, rate_window_minutes: the release's rate limit.
    """

    user_id: int
    assignment_id: int
    version_id: int
    name: str
    received_at: datetime
    late_days: int
    staff: bool
    queue: str
    owned: tuple[str, ...]
    rate_count: int
    rate_window_minutes: int


def admit(session: Session, user: User, name: str, now: datetime | None = None) -> Admission:
    """The checks an upload passes before its body is read: a released assignment, open, under the rate limit.

    The rate check here is a quick refusal for the common case; ``record`` checks again, atomically, when the
    submission is stored.

    Raises:
        ServiceError: 404 unknown assignment, 403 not open yet or closed, 429 over the rate limit.
    """
    now = now or utcnow()
    assignment, version = current_version(session, name)
    check_open(user, name, version, now)
    policy = released_at(version.autograder_path).assignment
    late = lateness(version, extension_days(session, user, assignment), now)
    staff = user.role in (Role.TA, Role.INSTRUCTOR)
    if late.closed and not staff:
        raise Forbidden(f"{name} closed at {late.closes.isoformat(timespec='minutes')} (the due date plus "
                        f"{version.last_late_day} late day(s)); submissions are no longer accepted. "
                        "Ask your instructor for an extension.")
    admission = Admission(user.id, assignment.id, version.id, name, now, late.days, staff, version.queue,
                          tuple(policy.files.owned), policy.submissions.rate_limit_count,
                          policy.submissions.rate_limit_window_minutes)
    _check_rate(session, admission)
    return admission


def check_zip(source: bytes | os.PathLike[str], admission: Admission, max_upload_bytes: int) -> str | None:
    """Intake's verdict on the zip, without touching the database: None when accepted, else the refusal."""
    try:
        read_submission(source, admission.owned, IntakeLimits(max_zip_bytes=max_upload_bytes))
    except IntakeError as error:
        return f"your submission was not accepted: {error}"
    return None


def record(session: Session, admission: Admission, *, sha: str | None, size: int, filename: str,
           refusal: str | None = None, refusal_as: type[ServiceError] = Unprocessable) -> Submission:
    """Store the upload's outcome in one transaction that holds the student's rate-limit lock.

    The lock (SQLite's write lock, or the student's row on PostgreSQL) is taken before the window is counted,
    so uploads that arrive together are counted one after the other: no more than the limit gets through.
    A refused upload is stored as a ``RefusedUpload`` and counts toward the limit like a submission.

    Args:
        sha: the stored blob (None for a refused upload).
        refusal: why the upload was refused (then ``refusal_as`` is raised after it is recorded).
        refusal_as: the error the refusal is (intake's ``Unprocessable``, or ``PayloadTooLarge``).

    Returns:
        The new queued submission (the caller enqueues it once this returns).

    Raises:
        RateLimited: over the rate limit (nothing stored).
        ServiceError: ``refusal_as`` with ``refusal``.
    """
    _hold_rate_lock(session, admission.user_id)
    try:
        _check_rate(session, admission)
    except ServiceError:
        session.rollback()  # let go of the lock at once, whatever the caller does with the session next
        raise
    if refusal is not None:
        session.add(RefusedUpload(user_id=admission.user_id, assignment_id=admission.assignment_id,
                                  created_at=admission.received_at, status=refusal_as.status,
                                  reason=refusal[:2000]))
        session.commit()
        raise refusal_as(refusal)
    submission = Submission(user_id=admission.user_id, assignment_id=admission.assignment_id,
                            version_id=admission.version_id, blob_sha256=sha, size=size,
                            filename=filename[:300], created_at=admission.received_at,
                            late_days=admission.late_days, status=Status.QUEUED, queue=admission.queue,
                            queued_at=admission.received_at)
    # The newest submission goes first; an older one still waiting is deferred, not dropped: under the "best"
    # policy it can still count, so it is graded once the queue has drained (worker/queue/reconciler.py).
    session.execute(update(Submission)
                    .where(Submission.user_id == admission.user_id,
                           Submission.assignment_id == admission.assignment_id,
                           Submission.status == Status.QUEUED, Submission.regrade.is_(False))
                    .values(status=Status.DEFERRED, regrade=True, enqueued_at=None))
    session.add(submission)
    session.commit()
    return submission


def accept(session: Session, blobs: BlobStore, user: User, name: str, data: bytes, filename: str,
           max_upload_bytes: int, now: datetime | None = None) -> Submission:
    """Check and store one submission zip held in memory as ``queued`` (the demos and tests; the API streams).

    Nothing but the refusal is written unless every check passes.

    Raises:
        ServiceError: 404 unknown assignment, 403 closed, 429 over the rate limit, 422 the zip is refused.
    """
    admission = admit(session, user, name, now)
    refusal = check_zip(data, admission, max_upload_bytes)
    sha = None if refusal else blobs.put(data)
    return record(session, admission, sha=sha, size=len(data), filename=filename, refusal=refusal)


def take_upload(runtime: Runtime, admission: Admission, path: Path, filename: str) -> dict:
    """Check a received upload file, store it and hand it to the queue; the submission as its owner sees it.

    Runs in a worker thread: intake and the blob's fsync happen before a database connection is taken, and the
    connection is held only for the short transaction of ``record``. ``path`` is moved into the blob store or
    left for the caller to delete.

    Raises:
        ServiceError: as ``record``.
    """
    from grader.service.visibility import submission_view

    size = path.stat().st_size
    refusal = check_zip(path, admission, runtime.settings.max_upload_bytes)
    sha = None if refusal else runtime.blobs.put_file(path)
    with runtime.sessions() as session:
        submission = record(session, admission, sha=sha, size=size, filename=filename or "submission.zip",
                            refusal=refusal)
        view, queue = submission_view(submission, session.get(User, admission.user_id)), submission.queue
    # Enqueued after the commit: a worker that takes it at once finds the row as stored.
    runtime.dispatcher.enqueue(view["id"], queue_for(queue, False))
    return view


def count_refusal(runtime: Runtime, admission: Admission, error: type[ServiceError], reason: str) -> None:
    """Record an upload refused before intake (413: over the size cap), so it counts toward the rate limit.

    Nothing is recorded when the student is over the limit already; the caller answers with its own refusal.
    """
    with runtime.sessions() as session:
        try:
            record(session, admission, sha=None, size=0, filename="", refusal=reason, refusal_as=error)
        except ServiceError:
            pass  # the refusal, now recorded, or the 429 of a student already over the limit


def queue_position(session: Session, submission: Submission) -> int | None:
    """1 for the next submission a grader on its queue will take; None once it is no longer waiting."""
    if submission.status != Status.QUEUED:
        return None
    since = submission.queued_at or submission.created_at
    ahead = session.scalar(select(func.count()).select_from(Submission).where(
        Submission.status == Status.QUEUED, Submission.queue == submission.queue,
        or_(Submission.queued_at < since,
            and_(Submission.queued_at == since, Submission.id < submission.id))))
    return int(ahead or 0) + 1


def _hold_rate_lock(session: Session, user_id: int) -> None:
    """Take the student's upload lock until the transaction ends (SQLite: write lock; PostgreSQL: a row)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # A transaction that has already written holds the write lock; otherwise take it now, before reading.
        if not connection.connection.driver_connection.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        # NO KEY UPDATE: serializes the student's uploads without blocking rows that merely reference the
        # user.
        session.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))


def _check_rate(session: Session, admission: Admission) -> None:
    """429 when the student's submissions and refused uploads in the window reach the limit (staff: never)."""
    if admission.staff:
        return
    window = timedelta(minutes=admission.rate_window_minutes)
    since = admission.received_at - window
    recent = union_all(*(select(model.created_at.label("at")).where(
        model.user_id == admission.user_id, model.assignment_id == admission.assignment_id,
        model.created_at > since)
        for model in (Submission, RefusedUpload))).subquery()
    count, first = session.execute(select(func.count(), func.min(recent.c.at))).one()
    if count >= admission.rate_count:
        retry = first + window
        raise RateLimited(f"you have submitted {count} times in the last "
                          f"{admission.rate_window_minutes} minutes (the limit is {admission.rate_count}, "
                          f"refused uploads included); you can submit again at "
                          f"{retry.isoformat(timespec='seconds')}",
                          retry_after_s=max(1, int((retry - admission.received_at).total_seconds())))
