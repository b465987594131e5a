"""What a caller may see of a submission: staff everything; a student what each test's visibility allows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grader.db import AssignmentVersion, Result, Role, Submission, User, utcnow
from grader.result import GradeResult
from grader.service.errors import Forbidden, not_found

_STUDENT_KEYS = ("complete", "seed", "execution_time", "integrity", "submission")
_STUDENT_TEST_KEYS = {"name", "number", "score", "max_score", "status", "outcome", "output", "tags"}


def shown_to_student(visibility: str, due: datetime | None, now: datetime) -> tuple[bool, bool]:
    """``(row shown, points counted)`` for one test; without a due date, nothing after-due is shown."""
    past_due = due is not None and now >= due
    if visibility == "visible":
        return True, True
    if visibility == "visible_until_due_date":
        return not past_due, True
    if visibility == "after_due_date":
        return past_due, past_due
    return False, past_due  # hidden: never a row; its points join the total once the due date passed


def get_submission(session: Session, submission_id: int) -> Submission:
    """The submission with that id (for staff).

    Raises:
        NotFound: there is none.
    """
    submission = session.get(Submission, submission_id)
    if submission is None:
        raise not_found("submission", submission_id)
    return submission


def visible_submission(session: Session, submission_id: int, user: User) -> Submission:
    """The submission with that id, if ``user`` may see it: staff any, a student only their own.

    Raises:
        NotFound: there is none, or it is another student's (its existence is not theirs to learn).
    """
    submission = session.get(Submission, submission_id)
    if submission is None or (user.role == Role.STUDENT and submission.user_id != user.id):
        raise not_found("submission", submission_id)
    return submission


def result_history(session: Session, submission_id: int) -> list[Result]:
    """Every result the submission ever got (regrades included), newest first."""
    return list(session.scalars(select(Result).where(Result.submission_id == submission_id)
                                .order_by(Result.id.desc())))


def get_result(session: Session, submission_id: int, result_id: int) -> Result:
    """Result ``result_id`` of submission ``submission_id`` (for staff).

    Raises:
        NotFound: there is none, or it belongs to another submission.
    """
    result = session.get(Result, result_id)
    if result is None or result.submission_id != submission_id:
        raise not_found("result", result_id)
    return result


def own_submission_counts(session: Session, user: User) -> dict[int, int]:
    """How many submissions ``user`` made to each assignment, by assignment id (none: left out)."""
    rows = session.execute(select(Submission.assignment_id, func.count()).where(Submission.user_id == user.id)
                           .group_by(Submission.assignment_id))
    return {assignment_id: count for assignment_id, count in rows}


def latest_submission(session: Session, user: User, assignment_id: int) -> Submission | None:
    """``user``'s newest submission to the assignment, or None before their first."""
    return session.scalar(select(Submission).where(Submission.user_id == user.id,
                                                   Submission.assignment_id == assignment_id)
                          .order_by(Submission.id.desc()).limit(1))


def history_view(result: Result) -> dict:
    """One result of a submission's history, as the API shows it."""
    return {"result_id": result.id, "status": result.status, "score": result.score,
            "max_score": result.max_score, "stored_at": result.stored_at.isoformat(), "worker": result.worker,
            "attempt": result.attempt}


def assignment_submissions(session: Session, assignment_id: int, user: User, everyone: bool = False,
                           limit: int = 500) -> list[Submission]:
    """The assignment's submissions, newest first: the caller's own, or with ``everyone`` (staff) all of them.

    Raises:
        Forbidden: a student asked for everyone's.
    """
    if everyone and user.role == Role.STUDENT:
        raise Forbidden("only TA or instructor accounts may list everyone's submissions")
    query = select(Submission).where(Submission.assignment_id == assignment_id)
    if not everyone:
        query = query.where(Submission.user_id == user.id)
    return list(session.scalars(query.order_by(Submission.id.desc()).limit(limit)))


def submission_view(submission: Submission, user: User, now: datetime | None = None) -> dict:
    """The submission and its current result as ``user`` may see it."""
    now = now or utcnow()
    version: AssignmentVersion = submission.version
    view = {
        "id": submission.id, "assignment": submission.assignment.name, "version": version.version,
        "status": str(submission.status), "submitted_at": submission.created_at.isoformat(),
        "late_days": submission.late_days, "filename": submission.filename, "score": None,
        "max_score": version.max_score, "tests": [], "output": _status_line(submission),
    }
    staff = user.role in (Role.TA, Role.INSTRUCTOR)
    if staff:
        view.update(student=submission.user.email, attempts=submission.attempts, queue=submission.queue,
                    failure_reason=submission.failure_reason, awaiting_worker=submission.awaiting_worker,
                    blob_sha256=submission.blob_sha256)
    result: Result | None = submission.current_result
    if result is None:
        return view
    data = result.data
    view["graded_at"] = result.stored_at.isoformat()
    view["timeline"] = _timeline(result)
    if staff:
        view.update({k: v for k, v in data.items() if k not in ("status",)}, engine_status=data.get("status"),
                    result_id=result.id, worker=result.worker)
        return view
    tests, score, max_score, withheld = [], 0.0, 0.0, 0
    for test in GradeResult.from_json(data).tests:  # the stored JSON, parsed once
        shown, counted = shown_to_student(test.visibility, version.due_at, now)
        if counted:
            score += test.score
            max_score += test.max_score
        if shown:
            tests.append(test.model_dump(mode="json", include=_STUDENT_TEST_KEYS))
        else:
            withheld += 1
    view.update({k: data[k] for k in _STUDENT_KEYS if k in data})
    past_due = version.due_at is not None and now >= version.due_at
    view.update(tests=tests, score=round(score, 6), max_score=round(max_score, 6), tests_withheld=withheld,
                withheld_note=withheld_note(withheld, past_due))
    view["output"] = f"Score so far: {score:g} / {max_score:g}."
    return view


def withheld_note(withheld: int, past_due: bool) -> str:
    """The one sentence on the tests a student does not see (empty when there are none).

    Before the due date they are hidden or shown after it, and none counts yet; after it, the hidden ones and
    those visible only until the due date count without being shown (``shown_to_student``).
    """
    if not withheld:
        return ""
    many = withheld != 1
    tests = f"{withheld} more test{'s are' if many else ' is'}"
    if past_due:
        return f"{tests} graded and counted in this score but not shown."
    return f"{tests} graded but not shown yet; {'their' if many else 'its'} points count after the due date."


def _status_line(submission: Submission) -> str:
    return {
        "queued": "Waiting for a grader.", "running": "Being graded now.",
        "failed_to_grade": "Could not be graded because of a problem on our side (not your code); "
                           + ("it is graded again as soon as a grader that can run it is free. "
                              if submission.awaiting_worker else "your TAs have been told. ")
                           + submission.failure_reason,
        "superseded": "Not graded: a newer submission replaced it while it was waiting.",
        "deferred": "Waiting: your newer submission is graded first; this one is graded once the queue has "
                    "drained, and still counts if your course takes your best score.",
        "cancelled": "Cancelled.", "graded": "",
    }.get(str(submission.status), "")


def _timeline(result: Result) -> dict:
    stamps = {"received": result.received_at, "queued": result.queued_at, "started": result.started_at,
              "finished": result.finished_at, "stored": result.stored_at}
    return {name: stamp.isoformat() if stamp else None for name, stamp in stamps.items()}
