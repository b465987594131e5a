"""TA pages for similarity checks: start one, follow it, read its flagged pairs side by side, export them."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from grader.db import SimilarityStatus
from grader.http.deps import DbSession
from grader.http.params import RowId
from grader.service.assignments import get_assignment
from grader.service.errors import Conflict, Unprocessable, not_found
from grader.service.numbers import MAX_ID, whole_number
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
from grader.web.deps import CheckedForm, StaffViewer
from grader.web.render import page

router = APIRouter(prefix="/staff", include_in_schema=False)

# A score as a person types it: ASCII digits with at most one decimal point (float() also takes 'nan',
# 'inf', '1e-1' and digits of other scripts).
_SCORE = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_SHOWN = 40
STARTED = "Check queued: this page follows it and shows the flagged pairs when it ends."


def score_field(text: str, field: str) -> float:
    """The score from 0 to 1 that a form field or query holds.

    Raises:
        ServiceError: 422 naming the field and what it takes, for anything else.
    """
    value = text.strip()
    if _SCORE.fullmatch(value) and len(value) <= 12 and 0.0 <= float(value) <= 1.0:
        return float(value)
    shown = value if len(value) <= _SHOWN else value[:_SHOWN - 3] + "..."
    raise Unprocessable(f"{field} must be a number from 0 to 1, such as 0.7 (got {shown!r})")


@router.get("/assignments/{name}/similarity")
def similarity(name: str, request: Request, user: StaffViewer, session: DbSession):
    """The latest check: a start form, its progress while it runs, its error, or its flagged pairs."""
    assignment = get_assignment(session, name, "released assignment")
    min_text = request.query_params.get("min", "").strip()
    min_score = score_field(min_text, "the min filter (the lowest score shown)") if min_text else None
    run = latest_run(session, assignment)
    view = run_view(session, run) if run is not None else None
    done = run is not None and run.status == SimilarityStatus.DONE
    pairs = flagged_pairs(session, run, min_score) if done else []
    # The link keeps its notice after the check ends: it is said only while it still holds.
    started = request.query_params.get("notice") == "started" and view is not None and not view["finished"]
    return page(request, "staff/similarity.html", user=user, name=name, assignment=assignment, run=view,
                done=done, pairs=pairs, min_score=min_score,
                threshold=run.threshold if run is not None else DEFAULT_THRESHOLD,
                notice=STARTED if started else None)


@router.post("/assignments/{name}/similarity")
def start(name: str, request: Request, user: StaffViewer, data: CheckedForm, session: DbSession):
    """Queue a check of every student's latest submission; 409 while one is queued or running."""
    assignment = get_assignment(session, name, "released assignment")
    text = str(data.get("threshold", "")).strip()
    threshold = score_field(text, "the threshold") if text else None
    run = start_similarity(session, assignment, user, threshold)
    send_similarity(request.app.state.runtime.dispatcher, run.id)
    return RedirectResponse(f"/staff/assignments/{name}/similarity?notice=started", status_code=303)


@router.get("/assignments/{name}/similarity/pairs/{pair_id}")
def pair(name: str, pair_id: RowId, request: Request, user: StaffViewer, session: DbSession):
    """Two submissions side by side, file by file, the matched lines marked.

    The pair is looked for in the assignment's latest check, or in check ``?run=N`` of the same assignment.
    """
    assignment = get_assignment(session, name, "released assignment")
    run_text = request.query_params.get("run")
    if run_text is not None:
        run = get_run(session, whole_number(run_text, "run (a similarity check id)", 1, MAX_ID))
        if run.assignment_id != assignment.id:
            raise not_found(f"similarity check of {name} with id", run.id)
    else:
        run = latest_run(session, assignment)
        if run is None:
            raise not_found(f"pair of {name}'s similarity checks with id", pair_id)
    row = get_pair(session, run, pair_id)
    view = pair_view(session, request.app.state.runtime.blobs, run, row)
    return page(request, "staff/similarity_pair.html", user=user, name=name, run=run_view(session, run),
                latest=run_text is None, **view)


@router.get("/assignments/{name}/similarity.csv")
def export(name: str, user: StaffViewer, session: DbSession) -> Response:
    """The latest finished check's flagged pairs as CSV."""
    assignment = get_assignment(session, name, "released assignment")
    run = latest_run(session, assignment, done=True)
    if run is None:
        raise Conflict(f"{name} has no finished similarity check yet; start one on "
                       f"/staff/assignments/{name}/similarity")
    return Response(pairs_csv(flagged_pairs(session, run)), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}-similarity-{run.id}.csv"'})
