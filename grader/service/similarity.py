"""Similarity checks for the staff: start one on the regrade queue, follow it, read its flagged pairs."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from grader.blobs import BlobStore
from grader.db import (
    Assignment,
    Role,
    SimilarityPair,
    SimilarityRun,
    SimilarityStatus,
    Status,
    Submission,
    User,
    utcnow,
)
from grader.dispatch import Dispatcher
from grader.service.errors import Conflict, Unprocessable, not_found
from grader.service.numbers import check_id
from grader.spreadsheet import csv_text

DEFAULT_THRESHOLD = 0.5
ACTIVE = (SimilarityStatus.QUEUED, SimilarityStatus.RUNNING)
# A student's latest submission is their current work, graded or not; cancelled ones never counted.
COMPARED = (Status.QUEUED, Status.DEFERRED, Status.RUNNING, Status.GRADED, Status.FAILED)
CSV_COLUMNS = ("pair", "score", "score_ab", "score_ba", "a_student", "a_submission", "b_student",
               "b_submission", "b_archived", "files")


def start_similarity(session: Session, assignment: Assignment, by: User | None,
                     threshold: float | None = None) -> SimilarityRun:
    """Record a queued similarity check of ``assignment`` (committed); the caller sends it with
    ``send_similarity``.

    Args:
        session: the database session.
        assignment: what to check: each student's latest submission, against the current release's starter.
        by: who asked.
        threshold: pairs whose score reaches this are kept (0..1; default 0.5).

    Raises:
        ServiceError: 422 for a threshold outside 0..1; 409 when the assignment has no released version, or a
            check of it is queued or running already.
    """
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0.0 <= threshold <= 1.0:
        raise Unprocessable(f"threshold must be a number from 0 to 1 (0.5 flags pairs sharing half their own "
                            f"code). Received: {threshold!r}")
    if assignment.current_version_id is None:
        raise Conflict(f"{assignment.name} has no released version: there is no starter to leave out and no "
                       "submission to compare yet")
    active = session.scalar(select(SimilarityRun).where(SimilarityRun.assignment_id == assignment.id,
                                                        SimilarityRun.status.in_(ACTIVE)))
    if active is not None:
        raise Conflict(f"a similarity check of {assignment.name} is already {active.status} "
                       f"(#{active.id}); follow it at /api/similarity/{active.id}", run_id=active.id)
    run = SimilarityRun(assignment_id=assignment.id, version_id=assignment.current_version_id,
                        threshold=float(threshold), created_at=utcnow(), created_by=by.id if by else None,
                        stage="waiting for a worker")
    session.add(run)
    session.commit()
    return run


def send_similarity(dispatcher: Dispatcher, run_id: int) -> None:
    """Hand a recorded check to the regrade queue (after the commit); a lost send is re-sent by the
    reconciler."""
    dispatcher.enqueue_similarity(run_id)


def get_run(session: Session, run_id: int) -> SimilarityRun:
    """The check ``run_id``.

    Raises:
        ServiceError: 404 for an unknown check, 422 for an id no check can have.
    """
    run = session.get(SimilarityRun, check_id(run_id, "similarity check id"))
    if run is None:
        raise not_found("similarity check", run_id)
    return run


def latest_run(session: Session, assignment: Assignment, *, done: bool = False) -> SimilarityRun | None:
    """The newest check of ``assignment`` (with ``done``, the newest that ended with its pairs stored);
    None when there is none."""
    query = select(SimilarityRun).where(SimilarityRun.assignment_id == assignment.id)
    if done:
        query = query.where(SimilarityRun.status == SimilarityStatus.DONE)
    return session.scalar(query.order_by(SimilarityRun.id.desc()).limit(1))


def run_view(session: Session, run: SimilarityRun) -> dict:
    """A check's state and progress, as the API and pages show it.

    Returns:
        ``{"id", "assignment", "status", "stage", "done", "total", "percent", "finished", "threshold",
        "created_at", "started_at", "finished_at", "submissions", "archived", "pairs_compared", "flagged",
        "error", "url"}``; ``flagged`` counts the stored pairs (0 until it is done).
    """
    flagged = session.scalar(select(func.count()).select_from(SimilarityPair)
                             .where(SimilarityPair.run_id == run.id)) or 0
    finished = run.status not in ACTIVE
    percent = 100 if finished else (run.done * 100 // run.total if run.total else 0)
    return {"id": run.id, "assignment": run.assignment.name, "status": str(run.status), "stage": run.stage,
            "done": run.done, "total": run.total, "percent": percent, "finished": finished,
            "threshold": run.threshold, "created_at": run.created_at.isoformat(),
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "submissions": run.submissions, "archived": run.archived, "pairs_compared": run.pairs_compared,
            "flagged": flagged, "error": run.error, "url": f"/api/similarity/{run.id}"}


def flagged_pairs(session: Session, run: SimilarityRun, min_score: float | None = None, *,
                  pair_id: int | None = None) -> list[dict]:
    """The check's stored pairs at or above ``min_score`` (default: its threshold), highest score first
    (with ``pair_id``, that pair only).

    Returns:
        ``[{"id", "score", "score_ab", "score_ba", "a": side, "b": side, "b_archived", "files"}]``, each
        side ``{"submission_id", "student", "name", "label"}`` (an archived side: ``submission_id`` and
        ``student`` None, ``label`` its zip); ``files`` the owned paths with a match.

    Raises:
        ServiceError: 422 for a ``min_score`` outside 0..1.
    """
    if min_score is not None and not 0.0 <= min_score <= 1.0:
        raise Unprocessable(f"min_score must be from 0 to 1. Received: {min_score}")
    a_sub, b_sub = aliased(Submission), aliased(Submission)
    a_user, b_user = aliased(User), aliased(User)
    query = (select(SimilarityPair, a_sub.id, a_user.email, a_user.name, b_sub.id, b_user.email, b_user.name)
             .join(a_sub, a_sub.id == SimilarityPair.a_submission_id).join(a_user, a_user.id == a_sub.user_id)
             .outerjoin(b_sub, b_sub.id == SimilarityPair.b_submission_id)
             .outerjoin(b_user, b_user.id == b_sub.user_id)
             .where(SimilarityPair.run_id == run.id,
                    SimilarityPair.score >= (run.threshold if min_score is None else min_score)))
    if pair_id is not None:
        query = query.where(SimilarityPair.id == pair_id)
    rows = session.execute(query.order_by(SimilarityPair.score.desc(), SimilarityPair.id)).all()
    return [{"id": pair.id, "score": round(pair.score, 4), "score_ab": round(pair.score_ab, 4),
             "score_ba": round(pair.score_ba, 4), "a": _side(a_id, a_email, a_name, ""),
             "b": _side(b_id, b_email, b_name, pair.b_name), "b_archived": b_id is None,
             "files": [match["path"] for match in pair.files]}
            for pair, a_id, a_email, a_name, b_id, b_email, b_name in rows]


def get_pair(session: Session, run: SimilarityRun, pair_id: int) -> SimilarityPair:
    """Pair ``pair_id`` of check ``run``.

    Raises:
        ServiceError: 404 when the check has no such pair, 422 for an id no pair can have.
    """
    pair = session.get(SimilarityPair, check_id(pair_id, "pair id"))
    if pair is None or pair.run_id != run.id:
        raise not_found(f"pair of similarity check {run.id} with id", pair_id)
    return pair


def pair_view(session: Session, blobs: BlobStore, run: SimilarityRun, pair: SimilarityPair) -> dict:
    """One pair side by side: each matched owned file's two texts, line by line, matched lines marked.

    The texts are read again from the stored zips (an archived side from the check's own copy), as intake
    reads them, so what is shown is what was compared.

    Returns:
        ``{"pair": the pair as ``flagged_pairs`` lists it, "files": [{"path", "a": lines, "b": lines,
        "matched_a", "matched_b"}]}``, each of ``lines`` ``[{"n", "text", "hit"}]``.
    """
    summary = flagged_pairs(session, run, 0.0, pair_id=pair.id)[0]
    owned = [match["path"] for match in pair.files]
    left = submission_files(blobs, pair.a_submission.blob_sha256, owned)
    right = (submission_files(blobs, pair.b_submission.blob_sha256, owned) if pair.b_submission is not None
             else run.archive_files.get(pair.b_name, {}))
    files = [{"path": match["path"], "matched_a": match["matched_a"], "matched_b": match["matched_b"],
              "a": _lines(left.get(match["path"], ""), match["lines_a"]),
              "b": _lines(right.get(match["path"], ""), match["lines_b"])} for match in pair.files]
    return {"pair": summary, "files": files}


def submission_files(blobs: BlobStore, blob_sha256: str, owned: list[str]) -> dict[str, str]:
    """A stored submission zip's owned files as text (those of ``owned`` it has), read as intake reads
    them."""
    from grader.intake.errors import IntakeError
    from grader.intake.submission import read_submission

    try:
        intake = read_submission(Path(blobs.path(blob_sha256)), owned)
    except (IntakeError, OSError):  # stored, so it passed intake once; a lost blob shows as empty files
        return {}
    return intake.texts()


def pairs_csv(pairs: list[dict]) -> str:
    """``flagged_pairs`` as CSV, one row per pair, for a spreadsheet or the course's misconduct process
    (cells a spreadsheet would run as formulas are escaped)."""
    return csv_text([CSV_COLUMNS, *([pair["id"], f"{pair['score']:.4f}", f"{pair['score_ab']:.4f}",
                                     f"{pair['score_ba']:.4f}", pair["a"]["label"],
                                     pair["a"]["submission_id"], pair["b"]["label"],
                                     pair["b"]["submission_id"], "yes" if pair["b_archived"] else "no",
                                     " ".join(pair["files"])] for pair in pairs)])


def students_latest(session: Session, assignment: Assignment) -> list[tuple[int, str, str]]:
    """Each student's latest submission of ``assignment`` that can be compared: ``(id, email, blob)``, by
    email. Staff submissions (a TA trying the reference) are left out."""
    latest = (select(Submission.user_id, func.max(Submission.id).label("id"))
              .join(User, User.id == Submission.user_id)
              .where(Submission.assignment_id == assignment.id, Submission.status.in_(COMPARED),
                     User.role == Role.STUDENT)
              .group_by(Submission.user_id).subquery())
    rows = session.execute(select(Submission.id, User.email, Submission.blob_sha256)
                           .join(latest, latest.c.id == Submission.id)
                           .join(User, User.id == Submission.user_id).order_by(User.email)).all()
    return [(row[0], row[1], row[2]) for row in rows]


def _side(submission_id: int | None, email: str | None, name: str | None, archived: str) -> dict:
    if submission_id is None:
        return {"submission_id": None, "student": None, "name": "", "label": archived}
    return {"submission_id": submission_id, "student": email, "name": name or "", "label": email}


def _lines(text: str, ranges: list) -> list[dict]:
    hit = {line for first, last in ranges for line in range(first, last + 1)}
    return [{"n": n, "text": line, "hit": n in hit} for n, line in enumerate(text.splitlines(), 1)]
