"""Background release gates: one at a time, published once passed, refused, interrupted; migration 0002."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, insert, inspect
from sqlalchemy.exc import IntegrityError

from grader.db import Base, BatchKind, GateRun, GateStatus, RegradeBatch, Status, Submission, utcnow
from grader.db.engine import MIGRATIONS, engine_for, migrate, sessions
from grader.service import gates
from grader.service.errors import ServiceError
from grader.service.gates import INTERRUPTED, run_gate, start_gate
from tests.service.conftest import ASSIGNMENTS, make_runtime, open_api
from tests.service.processes import Postgres

GATE = "/api/assignments/beras-mlp/gate"


def _assignments_copy(tmp_path: Path) -> Path:
    """The course's assignments folder copied, to break one of them (a gate reads its siblings too)."""
    target = tmp_path / "assignments"
    shutil.copytree(ASSIGNMENTS, target, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    return target


def _api(tmp_path: Path, request, assignments: Path = ASSIGNMENTS):
    """The app with nothing published yet, its gates reading ``assignments``."""
    return open_api(make_runtime(tmp_path / "data", assignments_dir=assignments), request)


def _wait_gate(api, gate_id: int, timeout: float = 400) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = api.client.get(f"/api/gates/{gate_id}", headers=api.auth("tom")).json()
        if view["status"] != "running":
            return view
        time.sleep(0.5)
    raise TimeoutError(f"gate {gate_id} still running after {timeout:.0f} s")


@pytest.mark.slow
def test_a_gate_runs_in_the_background_and_publishing_it_makes_its_version_current(tmp_path, request):
    with _api(tmp_path, request) as api:
        started = api.client.post(GATE, headers=api.auth("tom"), json={"seed": 7})
        assert started.status_code == 202, started.text
        gate_id = started.json()["gate_id"]
        url = f"/api/gates/{gate_id}"
        assert started.json() == {"gate_id": gate_id, "status": "running", "url": url, "seed": 7}
        assert started.headers["location"] == f"/api/gates/{gate_id}"
        again = api.client.post(GATE, headers=api.auth("ida"))
        assert again.status_code == 409 and again.json()["gate_id"] == gate_id
        assert "already running" in again.json()["error"]
        early = api.client.post(f"/api/gates/{gate_id}/publish", headers=api.auth("tom"))
        assert early.status_code == 409 and "still running" in early.json()["error"]
        assert api.client.get("/api/assignments", headers=api.auth("ann")).json() == []

        view = _wait_gate(api, gate_id)
        assert view["status"] == "passed", view["report_text"] or view["error"]
        assert view["report"]["ok"] and view["report"]["seed"] == 7 and len(view["report"]["checks"]) == 9
        assert "Release passed" in view["report_text"] and view["error"] == "" and view["finished_at"]
        assert (view["published"], view["version"], view["started_by"]) == (False, None, "tom@course.edu")

        published = api.client.post(f"/api/gates/{gate_id}/publish", headers=api.auth("ida"))
        assert published.status_code == 200, published.text
        version = published.json()["version"]
        assert published.json() == {"assignment": "beras-mlp", "version": version, "published": True,
                                    "gate_id": gate_id, "regrade": []}
        listed = api.client.get("/api/assignments", headers=api.auth("ann")).json()
        assert [(a["name"], a["version"], a["max_score"]) for a in listed] == [("beras-mlp", version, 100.0)]
        with api.runtime.sessions() as session:
            row = session.get(GateRun, gate_id)
            releases = (api.runtime.settings.releases_dir / "beras-mlp").resolve()
            assert Path(row.autograder_path).parent.parent == releases
            starter = Path(row.starter_path).read_bytes()
        download = api.client.get("/api/assignments/beras-mlp/starter.zip", headers=api.auth("ann"))
        assert download.content == starter
        after = api.client.get(f"/api/gates/{gate_id}", headers=api.auth("tom")).json()
        assert (after["published"], after["version"]) == (True, version) and after["published_at"]
        twice = api.client.post(f"/api/gates/{gate_id}/publish", headers=api.auth("tom"))
        assert twice.status_code == 409 and "already published" in twice.json()["error"]
        runs = api.client.get("/api/assignments/beras-mlp/gates", headers=api.auth("tom")).json()
        assert [r["id"] for r in runs] == [gate_id] and runs[0]["version"] == version


def test_a_refused_gate_keeps_its_report_leaves_no_release_and_cannot_be_published(tmp_path, request):
    # A hidden test no [[points]] group scores: the gate refuses before any suite runs (seconds, not minutes).
    assignments = _assignments_copy(tmp_path)
    unscored = assignments / "beras-mlp" / "hidden_tests" / "test_unscored.py"
    unscored.write_text("def test_nobody_passes():\n    assert 1 == 2, 'broken on purpose'\n")
    with _api(tmp_path, request, assignments) as api:
        gate_id = api.client.post(GATE, headers=api.auth("tom")).json()["gate_id"]
        view = _wait_gate(api, gate_id)
        assert view["status"] == "refused" and view["report"]["ok"] is False and view["finished_at"]
        assert view["report"]["stopped"] and all(check["state"] == "not run"
                                                 for check in view["report"]["checks"][1:])
        assert "test_nobody_passes" in view["report_text"] and "Release refused" in view["report_text"]
        assert list(api.runtime.settings.releases_dir.glob("beras-mlp/*")) == []  # nothing half-released left
        refused = api.client.post(f"/api/gates/{gate_id}/publish", headers=api.auth("tom"))
        assert refused.status_code == 409 and "refused" in refused.json()["error"]
        assert api.client.get("/api/assignments", headers=api.auth("ann")).json() == []


def test_an_invalid_toml_ends_the_gate_refused_with_its_problems(tmp_path, request):
    assignments = _assignments_copy(tmp_path)
    toml = assignments / "beras-mlp" / "assignment.toml"
    toml.write_text(toml.read_text().replace('queue = "cpu"', 'queue = "tpu"'))
    with _api(tmp_path, request, assignments) as api:
        gate_id = api.client.post(GATE, headers=api.auth("tom")).json()["gate_id"]
        view = _wait_gate(api, gate_id, timeout=60)
        assert view["status"] == "refused" and view["error"] == ""
        assert view["report_text"].startswith("beras-mlp's assignment.toml is invalid:")
        assert any("queue" in problem for problem in view["report"]["config_problems"])
        assert "queue" in view["report_text"]
        assert api.client.post(f"/api/gates/{gate_id}/publish", headers=api.auth("tom")).status_code == 409
        # The one-call release shares the code: the same problem, as a 400.
        sync = api.client.post("/api/assignments/beras-mlp/release", headers=api.auth("tom"))
        assert sync.status_code == 400 and "queue" in sync.json()["error"]
        bad_seed = api.client.post(GATE, headers=api.auth("tom"), json={"seed": -1})
        assert bad_seed.status_code == 422 and "seed" in bad_seed.json()["error"]
        assert api.client.post("/api/assignments/no-such/gate", headers=api.auth("tom")).status_code == 404


def test_one_gate_runs_per_assignment_and_names_and_seeds_are_checked(runtime, monkeypatch):
    settings = runtime.settings
    with runtime.sessions() as session:
        for name, status in (("../etc", 400), ("Beras", 400), ("", 400), ("no-such", 404)):
            with pytest.raises(ServiceError) as refused:
                start_gate(session, settings, name, None)
            assert refused.value.status == status, name
        with pytest.raises(ServiceError, match="between 0 and") as refused:
            start_gate(session, settings, "beras-mlp", None, seed=2**31)
        first = start_gate(session, settings, "beras-mlp", None, seed=3)
        assert (first.status, first.seed, first.finished_at) == (GateStatus.RUNNING, 3, None)
        with pytest.raises(ServiceError, match="already running") as busy:
            start_gate(session, settings, "beras-mlp", None)
        assert busy.value.status == 409 and busy.value.detail["gate_id"] == first.id
        other = start_gate(session, settings, "beras-cnn", None)  # another assignment's may run meanwhile
        assert other.status == GateStatus.RUNNING and 0 <= other.seed < 2**31

        # Two requests that both passed the check: the database's unique index lets one in.
        monkeypatch.setattr(gates, "_running", lambda *_: None)
        with pytest.raises(ServiceError, match="same moment") as raced:
            start_gate(session, settings, "beras-mlp", None)
        assert raced.value.status == 409
        monkeypatch.undo()

        first.status = GateStatus.PASSED
        session.commit()
        assert start_gate(session, settings, "beras-mlp", None).status == GateStatus.RUNNING


def test_run_gate_records_an_unexpected_failure_and_never_raises(runtime, monkeypatch, caplog):
    with runtime.sessions() as session:
        gate_id = start_gate(session, runtime.settings, "beras-mlp", None).id

    def broken(*_args, **_kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(gates, "gate_release", broken)
    assert run_gate(runtime, gate_id) is None
    with runtime.sessions() as session:
        row = session.get(GateRun, gate_id)
        assert row.status == GateStatus.ERROR and row.finished_at is not None
        assert "RuntimeError: the disk is full" in row.error and "run it again" in row.error
    assert "Traceback" in caplog.text
    run_gate(runtime, gate_id)  # not running any more: left alone
    run_gate(runtime, 4242)  # no such gate: nothing to do, nothing raised
    with runtime.sessions() as session:
        assert session.get(GateRun, gate_id).error.startswith("the gate could not run")


def test_gates_a_stop_interrupted_become_errors_at_the_next_start(runtime, request):
    with runtime.sessions() as session:
        lost = GateRun(assignment_name="beras-mlp", status=GateStatus.RUNNING, seed=1)
        ended = GateRun(assignment_name="beras-cnn", status=GateStatus.REFUSED, seed=2, finished_at=utcnow(),
                        report_text="Release refused: check 2 failed")
        session.add_all([lost, ended])
        session.commit()
    with open_api(runtime, request) as api:
        view = api.client.get(f"/api/gates/{lost.id}", headers=api.auth("tom")).json()
        assert (view["status"], view["error"]) == ("error", INTERRUPTED) and view["finished_at"]
        kept = api.client.get(f"/api/gates/{ended.id}", headers=api.auth("tom")).json()
        assert (kept["status"], kept["report_text"]) == ("refused", "Release refused: check 2 failed")
        assert api.client.post(f"/api/gates/{lost.id}/publish", headers=api.auth("tom")).status_code == 409
        with runtime.sessions() as session:  # the assignment is free to be gated again
            assert start_gate(session, runtime.settings, "beras-mlp", None).status == GateStatus.RUNNING


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """An empty database of each backend (PostgreSQL: a private cluster, when it is installed here)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'grader.db'}"
        return
    try:
        cluster = Postgres(tmp_path / "pg").init()
    except FileNotFoundError as why:
        pytest.skip(f"not run: {why}")
    url = cluster.url.replace("postgresql://", "postgresql+psycopg://")
    yield url
    engine_for(url).dispose()
    cluster.stop()


def _downgrade(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine_for(url).begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _tables(url: str) -> MetaData:
    meta = MetaData()
    meta.reflect(engine_for(url))
    return meta


def test_migration_0002_upgrades_a_database_made_at_0001_and_back(database_url):
    url = database_url
    migrate(url, "0001")
    old = _tables(url)
    assert "gate_runs" not in old.tables and "replay_seed" not in old.tables["submissions"].c
    now = utcnow()
    with engine_for(url).begin() as connection:  # rows written by the old schema, as a live course would have
        user = connection.execute(insert(old.tables["users"]).values(
            email="s@course.edu", name="", role="student", created_at=now)).inserted_primary_key[0]
        assignment = connection.execute(insert(old.tables["assignments"]).values(
            name="beras-mlp", title="")).inserted_primary_key[0]
        version = connection.execute(insert(old.tables["assignment_versions"]).values(
            assignment_id=assignment, version="v1", autograder_path="/x", starter_sha256="0" * 64,
            queue="cpu", late_penalty_per_day=0.0, last_late_day=0, max_score=100.0, gate_report={},
            released_at=now)).inserted_primary_key[0]
        submission = connection.execute(insert(old.tables["submissions"]).values(
            user_id=user, assignment_id=assignment, version_id=version, blob_sha256="1" * 64, size=10,
            filename="s.zip", created_at=now, late_days=0, status="graded", queue="cpu", regrade=False,
            attempts=1, worker="", failure_reason="")).inserted_primary_key[0]

    migrate(url)
    columns = {c["name"] for c in inspect(engine_for(url)).get_columns("submissions")}
    assert "replay_seed" in columns
    with engine_for(url).connect() as connection:  # the models and the migrated schema agree
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    with sessions(url)() as session:
        row = session.get(Submission, submission)
        assert (row.status, row.replay_seed, row.filename) == (Status.GRADED, None, "s.zip")
        session.add(GateRun(assignment_name="beras-mlp", status=GateStatus.RUNNING))
        session.add(RegradeBatch(assignment_id=assignment, kind=BatchKind.REPLAY,
                                 submission_ids=[submission]))
        session.commit()
        session.add(GateRun(assignment_name="beras-mlp", status=GateStatus.RUNNING))
        with pytest.raises(IntegrityError):  # the one-running-gate index holds on this backend
            session.commit()
        session.rollback()

    _downgrade(url, "0001")
    back = _tables(url)
    assert {"gate_runs", "regrade_batches"}.isdisjoint(back.tables)
    assert "replay_seed" not in back.tables["submissions"].c
    with engine_for(url).connect() as connection:
        assert connection.execute(back.tables["submissions"].select()).one().filename == "s.zip"
    migrate(url)  # and up again
    assert "gate_runs" in _tables(url).tables
