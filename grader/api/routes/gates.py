"""Release gates over HTTP (staff): start, follow and publish one; regrade what it replaced."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from grader.api.models import (
    GateChangesOut,
    GateOut,
    GateStarted,
    PublishedOut,
    RegradeOffer,
    VersionRegradeOut,
)
from grader.http.deps import DbSession, StaffUser
from grader.http.params import RowId
from grader.service.assignments import get_assignment
from grader.service.gates import (
    MAX_SEED,
    changes_view,
    gate_view,
    launch_gate,
    publish_gate,
    recent_gates,
    start_gate,
)
from grader.service.gates import get_gate as gate_by_id
from grader.service.regrade import regrade_offers, regrade_version, send_regrades

router = APIRouter(prefix="/api", tags=["gates"])


class GateIn(BaseModel):
    seed: int | None = Field(None, ge=0, lt=MAX_SEED, description="The gate's seed; default a random one.")


@router.post("/assignments/{name}/gate", status_code=202, response_model=GateStarted)
def start(name: str, request: Request, user: StaffUser, session: DbSession,
          body: GateIn | None = None) -> JSONResponse:
    """Start the release gate on ``assignments/<name>`` in the background; 202 with where to follow it."""
    runtime = request.app.state.runtime
    gate = start_gate(session, runtime.settings, name, user, body.seed if body else None)
    launch_gate(runtime, gate.id)
    url = f"/api/gates/{gate.id}"
    return JSONResponse({"gate_id": gate.id, "status": str(gate.status), "url": url, "seed": gate.seed},
                        status_code=202, headers={"Location": url})


class PublishIn(BaseModel):
    against: str | None = Field(None, max_length=64, description=(
        "The version the changes were read against (the gate view's changes.old_version, or \"none\" for a "
        "first release): publishing is refused if another version was published since. Default: not "
        "checked."))


@router.get("/gates/{gate_id}", response_model=GateChangesOut)
def get_gate(gate_id: RowId, request: Request, user: StaffUser, session: DbSession) -> dict:
    """One gate run: its status, the report once it ended, and while it waits to be published, ``changes``
    against the published version (null otherwise)."""
    gate = gate_by_id(session, gate_id)
    return {**gate_view(gate), "changes": changes_view(session, request.app.state.runtime.blobs, gate)}


@router.post("/gates/{gate_id}/publish", response_model=PublishedOut)
def publish(gate_id: RowId, request: Request, user: StaffUser, session: DbSession,
            body: PublishIn | None = None) -> dict:
    """Make what a passed gate built the assignment's current version (once per gate run).

    ``regrade`` lists the older versions with submissions graded against them (see ``/regrade`` below).
    """
    version = publish_gate(session, request.app.state.runtime, gate_id, user,
                           against=body.against if body else None)
    return {"assignment": version.assignment.name, "version": version.version, "published": True,
            "gate_id": gate_id, "regrade": regrade_offers(session, version.assignment)}


@router.get("/assignments/{name}/versions/regrade", response_model=list[RegradeOffer])
def offers(name: str, user: StaffUser, session: DbSession) -> list[dict]:
    """The older versions with submissions graded against them, newest first, and how many can be regraded."""
    return regrade_offers(session, get_assignment(session, name))


@router.post("/assignments/{name}/versions/{version}/regrade", response_model=VersionRegradeOut)
def regrade_old_version(name: str, version: str, request: Request, user: StaffUser,
                        session: DbSession) -> dict:
    """Regrade every graded or failed submission graded against ``version`` on the current version."""
    batch, ids = regrade_version(session, get_assignment(session, name), version, user)
    send_regrades(request.app.state.runtime.dispatcher, session, ids)
    return {"queued": ids, "count": len(ids), "batch": batch.id, "url": f"/api/regrades/{batch.id}"}



@router.get("/assignments/{name}/gates", response_model=list[GateOut])
def list_gates(name: str, user: StaffUser, session: DbSession) -> list[dict]:
    """The assignment's last 20 gate runs, newest first."""
    return [gate_view(gate) for gate in recent_gates(session, name)]
