"""Release gates over HTTP (staff): start one in the background, follow it, list the runs, publish one."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from grader.api.auth import DbSession, StaffUser
from grader.api.params import RowId
from grader.db import GateRun
from grader.service.errors import not_found
from grader.service.gates import MAX_SEED, gate_view, launch_gate, publish_gate, recent_gates, start_gate

router = APIRouter(prefix="/api", tags=["gates"])


class GateIn(BaseModel):
    seed: int | None = Field(None, ge=0, lt=MAX_SEED, description="The gate's seed; default a random one.")


@router.post("/assignments/{name}/gate", status_code=202)
def start(name: str, request: Request, user: StaffUser, session: DbSession,
          body: GateIn | None = None) -> JSONResponse:
    """Start the release gate on ``assignments/<name>`` in the background; 202 with where to follow it."""
    runtime = request.app.state.runtime
    gate = start_gate(session, runtime.settings, name, user, body.seed if body else None)
    launch_gate(runtime, gate.id)
    url = f"/api/gates/{gate.id}"
    return JSONResponse({"gate_id": gate.id, "status": str(gate.status), "url": url, "seed": gate.seed},
                        status_code=202, headers={"Location": url})


@router.get("/gates/{gate_id}")
def get_gate(gate_id: RowId, user: StaffUser, session: DbSession) -> dict:
    """One gate run: its status and, once it ended, the report (and whether it was published)."""
    gate = session.get(GateRun, gate_id)
    if gate is None:
        raise not_found("gate run", gate_id)
    return gate_view(gate)


@router.post("/gates/{gate_id}/publish")
def publish(gate_id: RowId, request: Request, user: StaffUser, session: DbSession) -> dict:
    """Make what a passed gate built the assignment's current version (once per gate run)."""
    version = publish_gate(session, request.app.state.runtime, gate_id, user)
    return {"assignment": version.assignment.name, "version": version.version, "published": True,
            "gate_id": gate_id}


@router.get("/assignments/{name}/gates")
def list_gates(name: str, user: StaffUser, session: DbSession) -> list[dict]:
    """The assignment's last 20 gate runs, newest first."""
    return [gate_view(gate) for gate in recent_gates(session, name)]
