"""Grade reports for instructors: the gradebook as JSON and as CSV for the LMS."""

from __future__ import annotations

from fastapi import APIRouter, Query
from fastapi.responses import Response

from grader.api.models import GradesOut
from grader.http.deps import DbSession, InstructorUser
from grader.service.assignments import get_assignment
from grader.service.gradebook import as_csv, as_dicts, gradebook

router = APIRouter(prefix="/api/assignments", tags=["reports"])



@router.get("/{name}/grades", response_model=GradesOut)
def grades(name: str, user: InstructorUser, session: DbSession,
           policy: str = Query("best", description="best or latest")) -> dict:
    rows = gradebook(session, get_assignment(session, name), policy)
    return {"assignment": name, "policy": policy, "rows": as_dicts(rows)}


@router.get("/{name}/grades.csv")
def grades_csv(name: str, user: InstructorUser, session: DbSession,
               policy: str = Query("best", description="best or latest")) -> Response:
    text = as_csv(gradebook(session, get_assignment(session, name), policy))
    return Response(text, media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}-grades-{policy}.csv"'})
