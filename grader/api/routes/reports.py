"""Grade reports for instructors: the gradebook as JSON and as CSV for the LMS."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.api.auth import db, instructor
from grader.db import Assignment, User
from grader.service.errors import not_found
from grader.service.gradebook import as_csv, as_dicts, gradebook

router = APIRouter(prefix="/api/assignments", tags=["reports"])


def _assignment(session: Session, name: str) -> Assignment:
    assignment = session.scalar(select(Assignment).where(Assignment.name == name))
    if assignment is None:
        raise not_found("assignment", name)
    return assignment


@router.get("/{name}/grades")
def grades(name: str, policy: str = Query("best", description="best or latest"), user: User = Depends(instructor),
           session: Session = Depends(db)) -> dict:
    return {"assignment": name, "policy": policy, "rows": as_dicts(gradebook(session, _assignment(session, name), policy))}


@router.get("/{name}/grades.csv")
def grades_csv(name: str, policy: str = Query("best", description="best or latest"), user: User = Depends(instructor),
               session: Session = Depends(db)) -> Response:
    text = as_csv(gradebook(session, _assignment(session, name), policy))
    return Response(text, media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}-grades-{policy}.csv"'})
