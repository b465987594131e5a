"""Submissions: upload a zip, see one as the caller may, list them; regrade and replay them (staff)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from grader.api.models import BatchOut, HistoryOut, QueuedOut, ReplayOut, SubmissionOut
from grader.http.deps import CurrentUser, DbSession, StaffUser, find_caller
from grader.http.params import RowId
from grader.http.uploads import in_upload_thread, take
from grader.service.assignments import get_assignment
from grader.service.numbers import MAX_ID
from grader.service.regrade import batch_progress, replay, send_regrades, start_regrade
from grader.service.submissions import Admission, admit, current_version, queue_position
from grader.service.visibility import (
    assignment_submissions,
    history_view,
    result_history,
    submission_view,
    visible_submission,
)

router = APIRouter(prefix="/api", tags=["submissions"])


@router.post("/assignments/{name}/submissions", status_code=201, response_model=SubmissionOut)
async def submit(name: str, request: Request) -> JSONResponse:
    """Upload a submission zip (multipart field ``file``); 201 with the queued submission.

    Who is calling, the assignment, its schedule and the rate limit are checked before the body is read; the
    body streams to disk (see ``grader.http.uploads``).
    """
    runtime = request.app.state.runtime
    admission = await in_upload_thread(request, _admit, runtime, request, name)
    view = await take(request, admission)
    return JSONResponse(view, status_code=201, headers={"Location": f"/api/submissions/{view['id']}"})


def _admit(runtime, request: Request, name: str) -> Admission:
    with runtime.sessions() as session:
        return admit(session, find_caller(request, session), name)


@router.get("/submissions/{submission_id}", response_model=SubmissionOut, response_model_exclude_unset=True)
def get_submission(submission_id: RowId, user: CurrentUser, session: DbSession) -> dict:
    submission = visible_submission(session, submission_id, user)
    return {**submission_view(submission, user), "queue_position": queue_position(session, submission)}


@router.get("/submissions/{submission_id}/history", response_model=list[HistoryOut])
def history(submission_id: RowId, user: StaffUser, session: DbSession) -> list[dict]:
    """Every result the submission ever got (regrades included), newest first."""
    visible_submission(session, submission_id, user)
    return [history_view(result) for result in result_history(session, submission_id)]


@router.get("/assignments/{name}/submissions", response_model=list[SubmissionOut],
            response_model_exclude_unset=True)
def list_submissions(name: str, user: CurrentUser, session: DbSession,
                     everyone: bool = Query(False, alias="all")) -> list[dict]:
    """The caller's submissions, newest first; staff may pass ``?all=true`` for everyone's."""
    assignment, _ = current_version(session, name)
    return [submission_view(s, user) for s in assignment_submissions(session, assignment.id, user, everyone)]


@router.post("/submissions/{submission_id}/regrade", response_model=QueuedOut)
def regrade_one(submission_id: RowId, request: Request, user: StaffUser,
                session: DbSession) -> dict:
    """Grade one submission again on the current release (fresh seed); see /api/regrades/{batch}."""
    submission = visible_submission(session, submission_id, user)
    batch, ids = start_regrade(session, submission.assignment, [submission_id], user)
    _send(request, session, ids)
    return {"queued": ids, "batch": batch.id}


@router.post("/assignments/{name}/regrade", response_model=QueuedOut)
def regrade_all(name: str, request: Request, user: StaffUser, session: DbSession) -> dict:
    """Grade every graded or failed submission of the assignment again; follow it at /api/regrades/{batch}."""
    assignment = get_assignment(session, name)
    batch, ids = start_regrade(session, assignment, None, user)
    _send(request, session, ids)
    return {"queued": ids, "batch": batch.id}


@router.get("/regrades/{batch_id}", response_model=BatchOut)
def regrade_progress(batch_id: RowId, user: StaffUser, session: DbSession) -> dict:
    """How far a regrade or replay batch got (counts by state, percent done)."""
    return batch_progress(session, batch_id)


class ReplayIn(BaseModel):
    result_id: int | None = Field(None, ge=1, le=MAX_ID)


@router.post("/submissions/{submission_id}/replay", response_model=ReplayOut)
def replay_one(submission_id: RowId, request: Request, user: StaffUser, session: DbSession,
               body: ReplayIn | None = None) -> dict:
    """Grade a submission again with the seed of one of its results (default: the current one)."""
    submission = visible_submission(session, submission_id, user)
    batch = replay(session, submission, body.result_id if body else None, user)
    _send(request, session, [submission.id])
    return {"batch": batch.id, "seed": submission.replay_seed, "queued": [submission.id]}


def _send(request: Request, session: Session, ids: list[int]) -> None:
    send_regrades(request.app.state.runtime.dispatcher, session, ids)
