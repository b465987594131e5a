"""The service refuses to release an assignment that ships the solutions of one still open (400, nothing
gated)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.db import GateRun, GateStatus
from grader.service.errors import ServiceError
from grader.service.gates import run_gate, start_gate
from grader.service.releases import release_assignment
from tests.authoring.test_schedule import course
from tests.service.conftest import make_runtime

# "toy" is due long after any run of this test: "next", which ships its ops.py, cannot be released.
OPEN_OWNER = "[schedule]\ndue = 2999-01-01T00:00:00-05:00\n"


@pytest.fixture
def courses(tmp_path: Path):
    def runtime_for(owner_schedule: str):
        root = course(tmp_path, owner_schedule=owner_schedule)
        return make_runtime(root / "data", assignments_dir=root / "assignments",
                            reference=root / "reference" / "beras")
    return runtime_for


def test_the_release_of_an_open_owners_solutions_is_a_400_naming_owner_close_and_fix(courses):
    runtime = courses(OPEN_OWNER)
    with runtime.sessions() as session:
        with pytest.raises(ServiceError) as caught:
            release_assignment(session, runtime.settings, "next", None, seed=3)
        gate = start_gate(session, runtime.settings, "next", None, seed=3)
    error = caught.value
    assert error.status == 400 and error.message.startswith("next cannot be released yet:\n")
    assert "ops.py are toy's solutions, and toy is still open" in error.message
    assert "toy closes 2999-01-01 00:00 (UTC-05:00) · 2999-01-01 05:00 UTC" in error.message
    assert ("Set [schedule] opens = 2999-01-01T00:00:00-05:00 or later in next/assignment.toml, or drop "
            "ops.py from files.solutions_released" in error.message)
    run_gate(runtime, gate.id)
    with runtime.sessions() as session:
        row = session.get(GateRun, gate.id)
        assert row.status == GateStatus.REFUSED and row.report["checks"] == []  # refused before any check ran
        assert (row.report_text.startswith("next cannot be released yet:")
                and "toy is still open" in row.report_text)


def test_the_release_goes_on_to_the_gate_once_the_owner_has_closed(courses):
    """No schedule refusal: the gate runs (and judges "next", a bare scaffold, on its own merits)."""
    runtime = courses("[schedule]\ndue = 2001-01-01T00:00:00-05:00\nlast_late_day = 3\n")
    with runtime.sessions() as session:
        with pytest.raises(ServiceError) as caught:
            release_assignment(session, runtime.settings, "next", None, seed=3)
    assert caught.value.status == 422 and caught.value.detail["gate"]["checks"]
    assert "still open" not in caught.value.detail["report"]
