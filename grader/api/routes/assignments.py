"""Assignments: list the released ones, download a starter, release one (runs the gate), grant extensions."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from grader.api.auth import caller, db, staff
from grader.db import Assignment, User
from grader.service.extensions import MAX_DAYS, grant_extension
from grader.service.gates import MAX_SEED
from grader.service.releases import release_assignment
from grader.service.submissions import check_open, current_version, extension_days, release_schedule

router = APIRouter(prefix="/api/assignments", tags=["assignments"])


def describe(assignment: Assignment, extension: int = 0) -> dict:
    """The assignment as the API shows it; dates in the offset its author wrote them in."""
    version = assignment.current_version
    schedule = release_schedule(version)
    due = schedule.due + timedelta(days=extension) if schedule else None
    return {"name": assignment.name, "title": assignment.title, "version": version.version,
            "released_at": version.released_at.isoformat(), "queue": version.queue, "max_score": version.max_score,
            "opens_at": schedule.opens.isoformat() if schedule and schedule.opens else None,
            "due_at": due.isoformat() if due else None, "extension_days": extension,
            "closes_at": (due + timedelta(days=version.last_late_day)).isoformat() if due else None,
            "late_penalty_per_day": version.late_penalty_per_day, "last_late_day": version.last_late_day}


@router.get("")
def list_assignments(user: User = Depends(caller), session: Session = Depends(db)) -> list[dict]:
    assignments = session.scalars(select(Assignment).where(Assignment.current_version_id.is_not(None))
                                  .order_by(Assignment.name)).all()
    return [describe(a, extension_days(session, user, a)) for a in assignments]


@router.get("/{name}")
def get_assignment(name: str, user: User = Depends(caller), session: Session = Depends(db)) -> dict:
    assignment, _ = current_version(session, name)
    return describe(assignment, extension_days(session, user, assignment))


@router.get("/{name}/starter.zip")
def starter(name: str, request: Request, user: User = Depends(caller), session: Session = Depends(db)) -> Response:
    _, version = current_version(session, name)
    check_open(user, name, version)
    data = request.app.state.runtime.blobs.get(version.starter_sha256)
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}-starter.zip"'})


@router.post("/{name}/release")
async def release(name: str, request: Request, user: User = Depends(staff), session: Session = Depends(db),
                  seed: int | None = Query(None, ge=0, lt=MAX_SEED,
                                           description="The gate's seed (default: a random one), as for a gate run.")
                  ) -> dict:
    """Run the release gate on ``assignments/<name>``; publish it as the current version if every check passes."""
    runtime = request.app.state.runtime
    published = await run_in_threadpool(release_assignment, session, runtime.settings, name, user, seed)
    return {"assignment": name, "version": published.version.version, "published": True,
            "gate": published.report, "report": published.report_text}


class ExtensionIn(BaseModel):
    email: str
    days: int = Field(ge=0, le=MAX_DAYS)


@router.post("/{name}/extensions")
def extension(name: str, body: ExtensionIn, user: User = Depends(staff), session: Session = Depends(db)) -> dict:
    return grant_extension(session, name, body.email, body.days, user)
