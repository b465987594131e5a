"""The deadline, for real: 40 uploads at once beside 16 slow ones from one student, against the API under
uvicorn.

On SQLite (embedded: the API grades in-process too) and on PostgreSQL (redis as the broker). The bounds are
generous (the machine running the suite may be busy); ``bench/surge.py --burst`` measures against the targets.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select

from grader.db import RefusedUpload, Submission, engine_for
from grader.runtime import Runtime
from grader.service.releases import publish
from grader.service.users import import_roster
from grader.settings import Settings
from tests.grading.conftest import REQUIRE_SANDBOXES
from tests.service.burst import run_burst
from tests.service.conftest import ASSIGNMENTS, REFERENCE, URL, submission
from tests.service.processes import Postgres, RedisServer, Service, free_port, have, wait_healthy

HONEST, SLOW, SLOTS = 40, 16, 2
UPLOAD_TIMEOUT_S = 8
HONEST_BOUND_S, HEALTH_BOUND_S = 60.0, 5.0


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request, tmp_path, mlp_release):
    """``(api URL, tokens by email, runtime)``: a released beras-mlp, HONEST students and
    ``slow@burst.edu``."""
    parts = []
    env = {**os.environ, "GRADER_DATA_DIR": str(tmp_path / "data"),
           "GRADER_ASSIGNMENTS_DIR": str(ASSIGNMENTS),
           "GRADER_REFERENCE": str(REFERENCE), "GRADER_UPLOAD_TIMEOUT_S": str(UPLOAD_TIMEOUT_S),
           "GRADER_UPLOADS_PER_STUDENT": str(SLOTS), "GRADER_EMBEDDED_WORKERS": "1"}
    url = None
    if request.param == "postgresql":
        if not have("redis-server"):
            _missing("redis-server is not installed")
        try:
            postgres = Postgres(tmp_path / "pg").init()
        except FileNotFoundError as why:
            _missing(str(why))
        redis = RedisServer(tmp_path / "redis").start()
        parts += [redis, postgres]
        url = postgres.url
        env |= {"GRADER_DATABASE_URL": url, "GRADER_BROKER_URL": redis.url}
    runtime = Runtime(Settings(data_dir=tmp_path / "data", database_url=url, assignments_dir=ASSIGNMENTS,
                               reference=REFERENCE))
    runtime.migrate()
    roster = "email,role\nslow@burst.edu,student\n" + "".join(f"s{i}@burst.edu,student\n"
                                                              for i in range(HONEST))
    with runtime.sessions() as session:
        publish(session, runtime.blobs, *mlp_release)
        tokens = {email: token for email, _, token in import_roster(session, roster).added}
    port = free_port()
    service = Service(["serve", "--port", str(port), "--log-level", "warning"], env,
                      tmp_path / "api.log").start()
    parts.insert(0, service)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", timeout=120)
        yield f"http://127.0.0.1:{port}", tokens, runtime
    finally:
        for part in parts:
            part.stop()
        engine_for(runtime.settings.database).dispose()


def _missing(what: str) -> None:
    if REQUIRE_SANDBOXES:  # make test installs PostgreSQL and redis: missing there is a failure
        pytest.fail(f"the burst test needs it: {what}")
    pytest.skip(f"not run: {what}")


def test_a_deadline_burst_is_taken_while_slow_uploads_are_bounded_and_health_answers(server, mlp):
    api, tokens, runtime = server
    report = run_burst(api, URL, [tokens[f"s{i}@burst.edu"] for i in range(HONEST)], submission(mlp),
                       slow_token=tokens["slow@burst.edu"], slow=SLOW, slow_every_s=2.0, timeout_s=120,
                       slow_wait_s=UPLOAD_TIMEOUT_S + 20)
    figures = "\n".join(report.lines(HONEST_BOUND_S, HEALTH_BOUND_S))
    assert report.honest_ok(HONEST_BOUND_S), figures
    assert report.health_ok(HEALTH_BOUND_S), figures
    # The slow student holds SLOTS uploads, each cut at the body deadline; the rest are refused before their
    # body.
    slow = sorted(a.status or 0 for a in report.slow)
    assert slow == [408] * SLOTS + [429] * (SLOW - SLOTS), figures
    assert all(a.seconds < UPLOAD_TIMEOUT_S for a in report.slow if a.status == 429), figures
    assert all(a.seconds >= UPLOAD_TIMEOUT_S - 1 for a in report.slow if a.status == 408), figures
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == HONEST
        assert session.scalar(select(func.count()).select_from(RefusedUpload)) == 0
