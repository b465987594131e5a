"""The service as deployed: redis-server, PostgreSQL, the API under uvicorn and two real workers on the docker
sandbox."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from grader.authoring.gate_cache import CACHE_ENV
from grader.db import Result, Submission, sessions
from tests.service.conftest import ASSIGNMENTS, REFERENCE, submission
from tests.service.processes import (
    BIN,
    REPO,
    Postgres,
    RedisServer,
    Service,
    free_port,
    require,
    wait_for,
    wait_healthy,
)

pytestmark = pytest.mark.docker
LEASE_S = 6


class Cluster:
    def __init__(self, folder: Path, gate_cache: Path) -> None:
        self.folder = folder
        self.redis = RedisServer(folder / "redis").start()
        self.postgres = Postgres(folder / "pg").init()
        self.api_port = free_port()
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.env = {**os.environ, "GRADER_DATABASE_URL": self.postgres.url,
                    "GRADER_BROKER_URL": self.redis.url, "GRADER_SANDBOX": "docker",
                    "GRADER_DATA_DIR": str(folder / "data"),
                    "GRADER_ASSIGNMENTS_DIR": str(ASSIGNMENTS), "GRADER_REFERENCE": str(REFERENCE),
                    "GRADER_LEASE_S": str(LEASE_S), "GRADER_RECONCILE_EVERY_S": "1",
                    "GRADER_QUEUED_DEADLINE_S": "15", "GRADER_RETRY_BACKOFF_S": "1",
                    # the session's beras-mlp report (seed 7): the gate is tested in tests/authoring
                    CACHE_ENV: str(gate_cache)}
        self.server = Service(["serve", "--port", str(self.api_port)], self.env, folder / "api.log").start()
        self.workers = [self._worker(i) for i in range(2)]
        wait_healthy(f"{self.api}/healthz")
        for worker in self.workers:
            wait_healthy(f"http://127.0.0.1:{worker.health_port}/healthz")
        self.db = sessions(self.postgres.url.replace("postgresql://", "postgresql+psycopg://"))

    def _worker(self, index: int) -> Service:
        port = free_port()
        worker = Service(["worker", "--queues", "cpu,regrade", "--concurrency", "1", "--health-port",
                          str(port)],
                         self.env, self.folder / f"worker-{index}-{time.monotonic_ns()}.log")
        worker.health_port = port
        return worker.start()

    def restart_worker(self, index: int) -> None:
        self.workers[index] = self._worker(index)
        wait_healthy(f"http://127.0.0.1:{self.workers[index].health_port}/healthz")

    def user(self, email: str, role: str = "student") -> dict[str, str]:
        done = subprocess.run([str(BIN / "beras-grader"), "users", "add", email, "--role", role],
                              env=self.env, cwd=REPO, capture_output=True, text=True, check=True)
        return {"Authorization": f"Bearer {done.stdout.strip()}"}

    def submit(self, headers: dict, data: bytes) -> int:
        response = httpx.post(f"{self.api}/api/assignments/beras-mlp/submissions", headers=headers,
                              files={"file": ("submission.zip", data, "application/zip")}, timeout=30)
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "queued"
        return response.json()["id"]

    def view(self, headers: dict, submission_id: int) -> dict:
        return httpx.get(f"{self.api}/api/submissions/{submission_id}", headers=headers, timeout=10).json()

    def wait_done(self, headers: dict, submission_id: int, timeout: float = 180) -> dict:
        return wait_for(lambda: ((v := self.view(headers, submission_id))["status"]
                                 not in ("queued", "running") and v),
                        timeout, f"submission {submission_id} to be graded", interval=0.5)

    def results_of(self, submission_id: int) -> int:
        with self.db() as session:
            return session.scalar(select(func.count()).select_from(Result)
                                  .where(Result.submission_id == submission_id))

    def stop(self) -> None:
        for service in (*self.workers, self.server):
            service.stop()
        self.redis.stop()
        self.postgres.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, gate_cache: Path):
    require("the distributed tests", ("redis-server", "docker-compose"), ("docker",))
    cluster = Cluster(tmp_path_factory.mktemp("cluster"), gate_cache)
    try:
        cluster.staff = cluster.user("ta@course.edu", "ta")
        cluster.instructor = cluster.user("prof@course.edu", "instructor")
        # The gate tests' seed: check 8 takes its runs from their cache (the session's beras-mlp release).
        released = httpx.post(f"{cluster.api}/api/assignments/beras-mlp/release?seed=7",
                              headers=cluster.staff, timeout=300)
        assert released.status_code == 200, released.text
        assert released.json()["gate"]["ok"] is True and released.json()["gate"]["seed"] == 7
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def reference_zip(cluster, mlp) -> bytes:
    return submission(mlp)


def test_release_over_http_needs_staff(cluster):
    student = cluster.user("release-tries@course.edu")
    response = httpx.post(f"{cluster.api}/api/assignments/beras-mlp/release", headers=student, timeout=30)
    assert response.status_code == 403
    assert "ta or instructor" in response.json()["error"]


def test_zip_over_http_is_graded_and_kept_from_other_students(cluster, reference_zip):
    alice, bob = cluster.user("alice@course.edu"), cluster.user("bob@course.edu")
    submission_id = cluster.submit(alice, reference_zip)
    view = cluster.wait_done(alice, submission_id)
    assert view["status"] == "graded"
    # Before the due date a student sees the public tests only: 10 points of sanity checks.
    assert (view["score"], view["max_score"]) == (10.0, 10.0)
    assert view["tests_withheld"] > 0 and all(t["name"].startswith("public_tests/") for t in view["tests"])
    staff_view = cluster.view(cluster.staff, submission_id)
    assert (staff_view["score"], staff_view["max_score"]) == (100.0, 100.0)
    assert staff_view["integrity"]["tamper_proof"] is True and staff_view["sandbox"]["backend"] == "docker"
    assert set(staff_view["timeline"]) == {"received", "queued", "started", "finished", "stored"}
    other = httpx.get(f"{cluster.api}/api/submissions/{submission_id}", headers=bob, timeout=10)
    assert other.status_code == 404 and "no submission" in other.json()["error"]
    grades = httpx.get(f"{cluster.api}/api/assignments/beras-mlp/grades.csv", headers=cluster.instructor,
                       timeout=10)
    assert grades.status_code == 200
    assert "alice@course.edu,,100,100,100,0,0," in grades.text
    assert httpx.get(f"{cluster.api}/api/assignments/beras-mlp/grades.csv", headers=alice,
                     timeout=10).status_code == 403


def test_worker_killed_mid_grading_is_graded_once_by_the_other(cluster, reference_zip):
    carol = cluster.user("carol@course.edu")
    submission_id = cluster.submit(carol, reference_zip)
    wait_for(lambda: cluster.view(cluster.staff, submission_id)["status"] == "running", 60,
                       "the job to start")
    with cluster.db() as session:
        holder = session.get(Submission, submission_id).worker
    index = next(i for i, w in enumerate(cluster.workers) if holder.endswith(f":{w.process.pid}"))
    cluster.workers[index].kill()
    view = cluster.wait_done(cluster.staff, submission_id, timeout=240)
    assert view["status"] == "graded" and view["score"] == 100.0
    assert cluster.results_of(submission_id) == 1
    assert view["attempts"] == 2
    assert not view["worker"].endswith(f":{cluster.workers[index].process.pid}")
    cluster.restart_worker(index)


def test_redis_restart_with_submissions_queued_loses_none(cluster, reference_zip):
    for worker in cluster.workers:
        worker.stop()
    dave = [cluster.user(f"dave{i}@course.edu") for i in range(3)]
    ids = [cluster.submit(headers, reference_zip) for headers in dave]
    cluster.redis.stop()
    cluster.redis.start()
    for index in range(len(cluster.workers)):
        cluster.restart_worker(index)
    for headers, submission_id in zip(dave, ids):
        assert cluster.wait_done(headers, submission_id)["status"] == "graded"
        assert cluster.results_of(submission_id) == 1


def test_queued_submissions_the_broker_lost_are_sent_again(cluster, reference_zip):
    for worker in cluster.workers:
        worker.stop()
    erin = cluster.user("erin@course.edu")
    submission_id = cluster.submit(erin, reference_zip)
    subprocess.run(["redis-cli", "-p", str(cluster.redis.port), "FLUSHALL"], check=True, capture_output=True)
    for index in range(len(cluster.workers)):
        cluster.restart_worker(index)
    assert cluster.wait_done(erin, submission_id, timeout=240)["status"] == "graded"
    assert cluster.results_of(submission_id) == 1


def test_database_down_during_the_result_write_is_retried(cluster, reference_zip):
    frank = cluster.user("frank@course.edu")
    submission_id = cluster.submit(frank, reference_zip)
    wait_for(lambda: cluster.view(cluster.staff, submission_id)["status"] == "running", 60,
             "the job to start")
    cluster.postgres.stop()
    try:
        wait_for(lambda: any(f"store the result of submission {submission_id}" in w.text()
                             for w in cluster.workers),
                 120, "a worker to retry the result write")
    finally:
        cluster.postgres.start()
    view = cluster.wait_done(frank, submission_id, timeout=120)
    assert view["status"] == "graded"
    assert cluster.results_of(submission_id) == 1


def test_upload_errors_store_nothing(cluster, reference_zip):
    gina = cluster.user("gina@course.edu")
    with cluster.db() as session:
        before = session.scalar(select(func.count()).select_from(Submission))
    url = f"{cluster.api}/api/assignments/beras-mlp/submissions"
    bad = httpx.post(url, headers=gina, files={"file": ("x.zip", b"PK\x03\x04 broken", "application/zip")},
                     timeout=30)
    assert bad.status_code == 422 and "not accepted" in bad.json()["error"]
    huge = httpx.post(url, headers=gina, files={"file": ("x.zip", b"0" * (21 * 2**20), "application/zip")},
                      timeout=60)
    assert huge.status_code == 413 and "MiB allowed" in huge.json()["error"]
    assert httpx.get(f"{cluster.api}/api/submissions/999999", headers=gina, timeout=10).status_code == 404
    with cluster.db() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == before


def test_a_similarity_check_runs_on_a_celery_worker_and_flags_the_copy(cluster):
    from tests.similarity import corpus

    source = corpus.sources()["A"]
    first, second = cluster.user("sim-one@course.edu"), cluster.user("sim-two@course.edu")
    one = cluster.submit(first, corpus.zip_bytes(source))
    two = cluster.submit(second, corpus.zip_bytes(corpus.reorder(corpus.rename(source, corpus.A_NAMES))))
    started = httpx.post(f"{cluster.api}/api/assignments/beras-mlp/similarity", headers=cluster.staff,
                         json={"threshold": 0.5}, timeout=30)
    assert started.status_code == 202, started.text
    url = f"{cluster.api}{started.json()['url']}"
    run = wait_for(lambda: (v := httpx.get(url, headers=cluster.staff, timeout=10).json())["finished"] and v,
                   120, "the similarity check to finish", interval=0.5)
    assert run["status"] == "done", run
    report = httpx.get(f"{cluster.api}/api/assignments/beras-mlp/similarity", headers=cluster.staff,
                       timeout=10).json()
    pairs = {(p["a"]["submission_id"], p["b"]["submission_id"]) for p in report["pairs"]}
    assert (one, two) in pairs
    assert httpx.get(url, headers=first, timeout=10).status_code == 403


def test_worker_without_a_broker_exits_with_a_clear_message(cluster):
    env = {**cluster.env, "GRADER_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"}
    done = subprocess.run([str(BIN / "beras-grader"), "worker", "--queues", "cpu"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "cannot reach the broker at redis://127.0.0.1:" in done.stderr
    assert "Traceback" not in done.stderr
