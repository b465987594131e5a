"""Assignments: list the released ones, download a starter, release one (runs the gate), grant extensions."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from grader.api.models import AssignmentOut, ExtensionOut, ReleaseOut
from grader.http.deps import CurrentUser, DbSession, StaffUser
from grader.service.assignments import assignment_view, released_assignments
from grader.service.extensions import MAX_DAYS, grant_extension
from grader.service.gates import MAX_SEED
from grader.service.releases import release_assignment
from grader.service.submissions import check_open, current_version, extension_days

router = APIRouter(prefix="/api/assignments", tags=["assignments"])


@router.get("", response_model=list[AssignmentOut])
def list_assignments(user: CurrentUser, session: DbSession) -> list[dict]:
    return [assignment_view(a, extension_days(session, user, a)) for a in released_assignments(session)]


@router.get("/{name}", response_model=AssignmentOut)
def get_assignment(name: str, user: CurrentUser, session: DbSession) -> dict:
    assignment, _ = current_version(session, name)
    return assignment_view(assignment, extension_days(session, user, assignment))


@router.get("/{name}/starter.zip")
def starter(name: str, request: Request, user: CurrentUser, session: DbSession) -> Response:
    _, version = current_version(session, name)
    check_open(user, name, version)
    data = request.app.state.runtime.blobs.get(version.starter_sha256)
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}-starter.zip"'})


@router.post("/{name}/release", response_model=ReleaseOut)
async def release(name: str, request: Request, user: StaffUser, session: DbSession,
                  seed: int | None = Query(None, ge=0, lt=MAX_SEED, description=(
                      "The gate's seed (default: a random one), as for a gate run."))) -> dict:
    """Run the release gate on ``assignments/<name>``; publish it as the current version if it passes."""
    runtime = request.app.state.runtime
    published = await run_in_threadpool(release_assignment, session, runtime.settings, name, user, seed)
    return {"assignment": name, "version": published.version.version, "published": True,
            "gate": published.report, "report": published.report_text}


class ExtensionIn(BaseModel):
    email: str
    days: int = Field(ge=0, le=MAX_DAYS)


@router.post("/{name}/extensions", response_model=ExtensionOut)
def extension(name: str, body: ExtensionIn, user: StaffUser, session: DbSession) -> dict:
    return grant_extension(session, name, body.email, body.days, user)
