"""Submissions: upload a zip, see one as the caller may, list them; regrade and replay them (staff)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.api.auth import DbSession, StaffUser, caller, db, find_caller, staff
from grader.api.params import RowId
from grader.api.uploads import in_upload_thread, take
from grader.db import Assignment, Result, Role, Submission, User
from grader.service.errors import ServiceError, not_found
from grader.service.numbers import MAX_ID
from grader.service.regrade import batch_progress, replay, send_regrades, start_regrade
from grader.service.submissions import Admission, admit, current_version, queue_position
from grader.service.visibility import submission_view

router = APIRouter(prefix="/api", tags=["submissions"])


@router.post("/assignments/{name}/submissions", status_code=201)
async def submit(name: str, request: Request) -> JSONResponse:
    """Upload a submission zip (multipart field ``file``); 201 with the queued submission.

    Who is calling, the assignment, its schedule and the rate limit are checked before the body is read; the
    body streams to disk (see ``grader.api.uploads``).
    """
    runtime = request.app.state.runtime
    admission = await in_upload_thread(request, _admit, runtime, request, name)
    view = await take(request, admission)
    return JSONResponse(view, status_code=201, headers={"Location": f"/api/submissions/{view['id']}"})


def _admit(runtime, request: Request, name: str) -> Admission:
    with runtime.sessions() as session:
        return admit(session, find_caller(request, session), name)


def _visible(session: Session, submission_id: int, user: User) -> Submission:
    submission = session.get(Submission, submission_id)
    # Another student's submission is "not found", not "forbidden": its existence is not theirs to learn.
    if submission is None or (user.role == Role.STUDENT and submission.user_id != user.id):
        raise not_found("submission", submission_id)
    return submission


@router.get("/submissions/{submission_id}")
def get_submission(submission_id: RowId, user: User = Depends(caller), session: Session = Depends(db)) -> dict:
    submission = _visible(session, submission_id, user)
    return {**submission_view(submission, user), "queue_position": queue_position(session, submission)}


@router.get("/submissions/{submission_id}/history")
def history(submission_id: RowId, user: User = Depends(staff), session: Session = Depends(db)) -> list[dict]:
    """Every result the submission ever got (regrades included), newest first."""
    _visible(session, submission_id, user)
    rows = session.scalars(select(Result).where(Result.submission_id == submission_id).order_by(Result.id.desc()))
    return [{"result_id": r.id, "status": r.status, "score": r.score, "max_score": r.max_score,
             "stored_at": r.stored_at.isoformat(), "worker": r.worker, "attempt": r.attempt} for r in rows]


@router.get("/assignments/{name}/submissions")
def list_submissions(name: str, everyone: bool = Query(False, alias="all"), user: User = Depends(caller),
                     session: Session = Depends(db)) -> list[dict]:
    """The caller's submissions, newest first; staff may pass ``?all=true`` for everyone's."""
    assignment, _ = current_version(session, name)
    if everyone and user.role == Role.STUDENT:
        raise ServiceError(403, "only TA or instructor accounts may list everyone's submissions")
    query = select(Submission).where(Submission.assignment_id == assignment.id)
    if not everyone:
        query = query.where(Submission.user_id == user.id)
    return [submission_view(s, user) for s in session.scalars(query.order_by(Submission.id.desc()).limit(500))]


@router.post("/submissions/{submission_id}/regrade")
def regrade_one(submission_id: RowId, request: Request, user: User = Depends(staff),
                session: Session = Depends(db)) -> dict:
    """Grade one submission again on the current release (fresh seed); see /api/regrades/{batch}."""
    submission = _visible(session, submission_id, user)
    batch, ids = start_regrade(session, submission.assignment, [submission_id], user)
    _send(request, session, ids)
    return {"queued": ids, "batch": batch.id}


@router.post("/assignments/{name}/regrade")
def regrade_all(name: str, request: Request, user: User = Depends(staff), session: Session = Depends(db)) -> dict:
    """Grade every graded or failed submission of the assignment again; follow it at /api/regrades/{batch}."""
    assignment = session.scalar(select(Assignment).where(Assignment.name == name))
    if assignment is None:
        raise not_found("assignment", name)
    batch, ids = start_regrade(session, assignment, None, user)
    _send(request, session, ids)
    return {"queued": ids, "batch": batch.id}


@router.get("/regrades/{batch_id}")
def regrade_progress(batch_id: RowId, user: StaffUser, session: DbSession) -> dict:
    """How far a regrade or replay batch got (counts by state, percent done)."""
    return batch_progress(session, batch_id)


class ReplayIn(BaseModel):
    result_id: int | None = Field(None, ge=1, le=MAX_ID)


@router.post("/submissions/{submission_id}/replay")
def replay_one(submission_id: RowId, request: Request, user: StaffUser, session: DbSession,
               body: ReplayIn | None = None) -> dict:
    """Grade a submission again with the seed of one of its results (default: the current one)."""
    submission = _visible(session, submission_id, user)
    batch = replay(session, submission, body.result_id if body else None, user)
    _send(request, session, [submission.id])
    return {"batch": batch.id, "seed": submission.replay_seed, "queued": [submission.id]}


def _send(request: Request, session: Session, ids: list[int]) -> None:
    send_regrades(request.app.state.runtime.dispatcher, session, ids)
