"""Similarity checks over HTTP (staff only): start one, follow it, read its flagged pairs, export them."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from grader.api.models import SimilarityPairOut, SimilarityPairView, SimilarityReport, SimilarityRunOut
from grader.http.deps import DbSession, StaffUser
from grader.http.params import RowId
from grader.service.assignments import get_assignment
from grader.service.errors import Conflict, NotFound
from grader.service.similarity import (
    DEFAULT_THRESHOLD,
    flagged_pairs,
    get_pair,
    get_run,
    latest_run,
    pair_view,
    pairs_csv,
    run_view,
    send_similarity,
    start_similarity,
)

router = APIRouter(prefix="/api", tags=["similarity"])
MinScore = Query(None, ge=0.0, le=1.0, alias="min",
                 description="Only pairs scoring at least this (default: the check's threshold).")


class SimilarityIn(BaseModel):
    threshold: float = Field(DEFAULT_THRESHOLD, ge=0.0, le=1.0, description=(
        "Keep the pairs whose score (the larger share of either student's own code found in the other's) "
        "reaches this."))


@router.post("/assignments/{name}/similarity", status_code=202, response_model=SimilarityRunOut)
def start(name: str, request: Request, user: StaffUser, session: DbSession,
          body: SimilarityIn | None = None) -> JSONResponse:
    """Check every student's latest submission against every other's (and the archive) on the regrade
    queue; 202 with where to follow it. 409 while a check of this assignment is queued or running."""
    assignment = get_assignment(session, name)
    run = start_similarity(session, assignment, user, body.threshold if body else None)
    send_similarity(request.app.state.runtime.dispatcher, run.id)
    view = run_view(session, run)
    return JSONResponse(view, status_code=202, headers={"Location": view["url"]})


@router.get("/assignments/{name}/similarity", response_model=SimilarityReport)
def latest(name: str, user: StaffUser, session: DbSession, min_score: float | None = MinScore) -> dict:
    """The newest check of the assignment, and its flagged pairs (highest first) once it is done."""
    run = _latest(session, name)
    return {"run": run_view(session, run), "pairs": flagged_pairs(session, run, min_score)}


@router.get("/assignments/{name}/similarity.csv")
def export(name: str, user: StaffUser, session: DbSession, min_score: float | None = MinScore) -> Response:
    """The newest finished check's flagged pairs as CSV, one row per pair (while a newer check runs, the
    one before it)."""
    assignment = get_assignment(session, name)
    run = latest_run(session, assignment, done=True)
    if run is None:
        newest = _latest(session, name)
        raise Conflict(f"no similarity check of {name} has finished yet: the newest (#{newest.id}) is "
                       f"{newest.status}; export it once it is done (follow it at "
                       f"/api/similarity/{newest.id})")
    return Response(pairs_csv(flagged_pairs(session, run, min_score)), media_type="text/csv",
                    headers={"Content-Disposition":
                             f'attachment; filename="{assignment.name}-similarity-{run.id}.csv"'})


@router.get("/similarity/{run_id}", response_model=SimilarityRunOut)
def progress(run_id: RowId, user: StaffUser, session: DbSession) -> dict:
    """One check's state and progress (stage, done of total, percent)."""
    return run_view(session, get_run(session, run_id))


@router.get("/similarity/{run_id}/pairs", response_model=list[SimilarityPairOut])
def pairs(run_id: RowId, user: StaffUser, session: DbSession,
          min_score: float | None = MinScore) -> list[dict]:
    """One check's flagged pairs, highest score first."""
    return flagged_pairs(session, get_run(session, run_id), min_score)


@router.get("/similarity/{run_id}/pairs/{pair_id}", response_model=SimilarityPairView)
def pair(run_id: RowId, pair_id: RowId, request: Request, user: StaffUser, session: DbSession) -> dict:
    """One flagged pair side by side: each matched file's lines in both submissions, matched lines marked."""
    run = get_run(session, run_id)
    return pair_view(session, request.app.state.runtime.blobs, run, get_pair(session, run, pair_id))


def _latest(session, name: str):
    run = latest_run(session, get_assignment(session, name))
    if run is None:
        raise NotFound(f"{name} has no similarity check yet: POST /api/assignments/{name}/similarity to "
                       "start one")
    return run
