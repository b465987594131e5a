"""Regrades and replays: graded or failed submissions back to the queue, in batches whose progress is kept."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from grader.db import (
    TERMINAL,
    Assignment,
    AssignmentVersion,
    BatchKind,
    RegradeBatch,
    Result,
    Status,
    Submission,
    User,
    utcnow,
)
from grader.dispatch import Dispatcher, queue_for
from grader.service.errors import Conflict, not_found
from grader.service.numbers import check_id

REGRADABLE = (Status.GRADED, Status.FAILED)
_CHUNK = 500  # ids per IN (...): well under every backend's limit on bound parameters
# A queued job starts afresh: not yet sent, no back-off, no attempts, no old failure.
_FRESH_QUEUE = {"enqueued_at": None, "not_before": None, "attempts": 0, "failure_reason": "",
                "awaiting_worker": False}


def regrade(session: Session, assignment: Assignment, submission_ids: list[int] | None = None) -> list[int]:
    """Queue these submissions (default: every graded or failed one of the assignment) for a regrade.

    The old results stay as history; the new result becomes current when it is stored. A regrade draws a
    fresh seed: a replay's seed is cleared.

    Raises:
        ServiceError: 409 when a single named submission is queued or being graded now, or when the assignment
            has no released version.
    """
    ids = _queue_regrade(session, assignment, submission_ids)
    session.commit()
    return ids


def start_regrade(session: Session, assignment: Assignment, submission_ids: list[int] | None, by: User | None,
                  kind: BatchKind | str = BatchKind.REGRADE) -> tuple[RegradeBatch, list[int]]:
    """``regrade``, recorded as a batch (even an empty one) whose progress ``batch_progress`` reports.

    Args:
        session: the database session (committed here, once, with the batch).
        assignment: the assignment whose submissions to queue.
        submission_ids: these submissions only (default: every graded or failed one).
        by: who asked.
        kind: the batch's kind, ``regrade`` (a replay goes through ``replay``).

    Returns:
        The batch and the ids queued, in id order; the caller sends them to the queue.

    Raises:
        ServiceError: as ``regrade``.
    """
    ids = _queue_regrade(session, assignment, submission_ids)
    batch = RegradeBatch(assignment_id=assignment.id, kind=BatchKind(kind), submission_ids=ids,
                         created_at=utcnow(), created_by=by.id if by else None)
    session.add(batch)
    session.commit()
    return batch, ids


def regrade_offers(session: Session, assignment: Assignment) -> list[dict]:
    """The submissions graded against an older version than the current one, per version, newest first.

    Every graded or failed submission counts, not only each student's latest: under the "best" policy an older
    submission's score can still be the one that counts, so it must be graded by the same tests as the rest.

    Returns:
        ``[{"version_id", "version", "released_at", "submissions", "waiting"}]``: ``submissions`` can be
        regraded now; ``waiting`` are still queued or running against that version (they can be regraded once
        graded).
    """
    if assignment.current_version_id is None:
        return []
    rows = session.execute(select(Submission.version_id, Submission.status, func.count())
                           .where(Submission.assignment_id == assignment.id,
                                  Submission.version_id != assignment.current_version_id)
                           .group_by(Submission.version_id, Submission.status)).all()
    counts: dict[int, dict[str, int]] = {}
    for version_id, status, count in rows:
        entry = counts.setdefault(version_id, {"submissions": 0, "waiting": 0})
        entry["submissions" if status in REGRADABLE else "waiting"] += count
    versions = session.scalars(select(AssignmentVersion).where(AssignmentVersion.id.in_(list(counts)))
                               .order_by(AssignmentVersion.released_at.desc(),
                                         AssignmentVersion.id.desc())).all()
    return [{"version_id": v.id, "version": v.version, "released_at": v.released_at.isoformat(),
             **counts[v.id]} for v in versions]


def regrade_version(session: Session, assignment: Assignment, version: str, by: User | None
                    ) -> tuple[RegradeBatch, list[int]]:
    """Queue every graded or failed submission of ``assignment`` graded against ``version`` for a regrade.

    Args:
        session: the database session (committed here).
        assignment: the assignment.
        version: an older version's content hash (as ``regrade_offers`` lists it).
        by: who asked.

    Returns:
        The batch and the ids queued (graded against the current version from now on).

    Raises:
        ServiceError: 404 when the assignment has no such version; 409 when it is the current version, or when
            none of its submissions can be regraded now.
    """
    row = session.scalar(select(AssignmentVersion).where(AssignmentVersion.assignment_id == assignment.id,
                                                         AssignmentVersion.version == version))
    if row is None:
        raise not_found(f"version of {assignment.name}", version)
    if row.id == assignment.current_version_id:
        raise Conflict(f"version {version} is {assignment.name}'s current version: its submissions are "
                       "already graded against it (regrade one submission to grade it again)")
    ids = list(session.scalars(select(Submission.id).where(Submission.assignment_id == assignment.id,
                                                           Submission.version_id == row.id,
                                                           Submission.status.in_(REGRADABLE))
                               .order_by(Submission.id)))
    if not ids:
        raise Conflict(f"no graded or failed submission of {assignment.name} is graded against version "
                       f"{version} now (they were regraded already, or are still queued)")
    return start_regrade(session, assignment, ids, by)


def replay(session: Session, submission: Submission, result_id: int | None = None,
           by: User | None = None) -> RegradeBatch:
    """Grade ``submission`` again with the seed of one of its results (default: the current one).

    The replay runs against the release that result was graded with, so the same code, tests and seed give
    the same run; a difference shows the grading is not deterministic. The new result becomes current.

    Returns:
        The batch (kind ``replay``) holding the submission; ``submission.replay_seed`` is the seed.

    Raises:
        ServiceError: 409 while the submission is queued or running, when it has no result, when the result
            recorded no seed or its release folder is gone; 404 when ``result_id`` is not a result of this
            submission; 422 when it cannot be an id.
    """
    if submission.status not in REGRADABLE:
        raise Conflict(f"submission {submission.id} is {submission.status}; only a graded or failed "
                       "submission can be replayed (wait until it is graded)")
    if result_id is None:
        result = submission.current_result
        if result is None:
            raise Conflict(f"submission {submission.id} has no current result to replay; pass the "
                           "result_id of one from its history")
    else:
        result = session.get(Result, check_id(result_id, "result_id"))
        if result is None or result.submission_id != submission.id:
            raise not_found(f"result of submission {submission.id} with id", result_id)
    seed = result.data.get("seed") if isinstance(result.data, dict) else None
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise Conflict(f"result {result.id} recorded no seed, so it cannot be replayed; regrade the "
                       "submission instead")
    version = session.get(AssignmentVersion, result.version_id)
    if not Path(version.autograder_path).is_dir():
        raise Conflict(f"result {result.id} was graded with version {version.version}, whose "
                       f"release folder {version.autograder_path} is gone, so it cannot be "
                       "replayed; regrade the submission instead")
    queued = session.execute(
        update(Submission).where(Submission.id == submission.id, Submission.status.in_(REGRADABLE))
        .values(status=Status.QUEUED, regrade=True, version_id=result.version_id, replay_seed=seed,
                **_FRESH_QUEUE, queued_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if queued != 1:  # someone queued it between our look and this update
        session.rollback()
        raise Conflict(f"submission {submission.id} was queued by someone else just now; try again "
                       "once it is graded")
    batch = RegradeBatch(assignment_id=submission.assignment_id, kind=BatchKind.REPLAY,
                         submission_ids=[submission.id], created_at=utcnow(),
                         created_by=by.id if by else None)
    session.add(batch)
    session.commit()
    session.refresh(submission)
    return batch


def batch_progress(session: Session, batch_id: int) -> dict:
    """How far batch ``batch_id`` got: its submissions counted by state, with one grouped COUNT query.

    Returns:
        ``{"id", "kind", "assignment", "created_at", "total", "done", "queued", "running", "graded", "failed",
        "percent", "finished"}``. ``done`` counts submissions now in a terminal state; ``percent`` is 0-100
        (100 for an empty batch).

    Raises:
        ServiceError: 404 for an unknown batch, 422 for an id no batch can have.
    """
    batch = session.get(RegradeBatch, check_id(batch_id, "batch id"))
    if batch is None:
        raise not_found("regrade batch", batch_id)
    ids = list(batch.submission_ids)
    counts: dict[Status, int] = {}
    for start in range(0, len(ids), _CHUNK):  # one query unless a batch is larger than a chunk
        chunk = ids[start:start + _CHUNK]
        rows = session.execute(select(Submission.status, func.count()).where(Submission.id.in_(chunk))
                               .group_by(Submission.status)).all()
        for status, count in rows:
            counts[status] = counts.get(status, 0) + count
    total = len(ids)
    done = sum(count for status, count in counts.items() if status in TERMINAL)
    return {"id": batch.id, "kind": str(batch.kind), "assignment": batch.assignment.name,
            "created_at": batch.created_at.isoformat(), "total": total, "done": done,
            "queued": counts.get(Status.QUEUED, 0), "running": counts.get(Status.RUNNING, 0),
            "graded": counts.get(Status.GRADED, 0), "failed": counts.get(Status.FAILED, 0),
            "percent": 100 if total == 0 else done * 100 // total, "finished": done >= total}


def _queue_regrade(session: Session, assignment: Assignment, submission_ids: list[int] | None) -> list[int]:
    """Mark the regradable submissions queued against the current version, uncommitted; return their ids."""
    if assignment.current_version_id is None:
        raise Conflict(f"{assignment.name} has no released version to regrade against")
    query = select(Submission.id, Submission.status).where(Submission.assignment_id == assignment.id)
    if submission_ids is not None:
        query = query.where(Submission.id.in_(submission_ids))
    rows = session.execute(query.order_by(Submission.id)).all()
    if submission_ids is not None and len(submission_ids) == 1 and rows and rows[0][1] not in REGRADABLE:
        raise Conflict(f"submission {rows[0][0]} is {rows[0][1]}; only graded or failed submissions "
                       "can be regraded")
    ids = [submission_id for submission_id, status in rows if status in REGRADABLE]
    now = utcnow()
    for chunk in range(0, len(ids), _CHUNK):
        session.execute(update(Submission).where(Submission.id.in_(ids[chunk:chunk + _CHUNK]),
                                                 Submission.status.in_(REGRADABLE))
                        .values(status=Status.QUEUED, regrade=True, version_id=assignment.current_version_id,
                                replay_seed=None, queued_at=now, **_FRESH_QUEUE)
                        .execution_options(synchronize_session=False))
    return ids


def send_regrades(dispatcher: Dispatcher, session: Session, ids: list[int]) -> None:
    """Hand queued regrades to the queue, each to its assignment's regrade queue (after the commit)."""
    if not ids:
        return
    queues = dict(session.execute(select(Submission.id, Submission.queue)
                                  .where(Submission.id.in_(ids))).all())
    for submission_id in ids:
        dispatcher.enqueue(submission_id, queue_for(queues[submission_id], True))
