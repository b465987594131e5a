"""The gpu queue as deployed: redis-server, PostgreSQL and real worker processes, on a machine without a GPU.

A gpu assignment's submission waits in the ``gpu`` queue while a ``--queues cpu`` worker grades a cpu one; a
``gpu`` worker on the docker sandbox without the NVIDIA container runtime records it as failed_to_grade with
the reason and hands it back; a ``gpu`` worker declared to have one (``GRADER_GPU=yes``, the local sandbox,
which gives a job the machine's /dev/nvidia* nodes: none here, and the toy needs none) grades it.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from grader.db import Result, Status, Submission, User
from grader.service.submissions import admit, take_upload
from grader.service.users import add_user
from grader.service.visibility import submission_view
from grader.settings import Settings
from tests.grading.conftest import REQUIRE_SANDBOXES
from tests.service.gpu_toy import CORRECT, publish_toys, stage_toys
from tests.service.processes import Postgres, RedisServer, Service, free_port, have, wait_for, wait_healthy
from worker.queue.celery_app import CeleryDispatcher
from worker.runtime import WorkerRuntime
from worker.sandbox import SandboxUnavailable, choose_sandbox

pytestmark = pytest.mark.docker


class Course:
    """Redis, PostgreSQL, the two toys published, one student, and workers started on demand."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.redis = RedisServer(folder / "redis").start()
        self.postgres = Postgres(folder / "pg").init()
        self.env = {**os.environ, "GRADER_DATABASE_URL": self.postgres.url,
                    "GRADER_BROKER_URL": self.redis.url, "GRADER_DATA_DIR": str(folder / "data"),
                    "GRADER_RECONCILE_EVERY_S": "1"}
        self.runtime = WorkerRuntime(Settings(database_url=self.postgres.url, broker_url=self.redis.url,
                                              data_dir=folder / "data"))
        self.runtime.migrate()
        self.runtime.dispatcher = CeleryDispatcher(self.runtime)
        publish_toys(self.runtime, stage_toys(folder))
        with self.runtime.sessions() as session:
            self.student = add_user(session, "s@course.edu", "student")[0].id
        self.workers: list[Service] = []

    def worker(self, queues: str, **env: str) -> Service:
        port = free_port()
        worker = Service(["worker", "--queues", queues, "--concurrency", "1", "--health-port", str(port)],
                         {**self.env, **env}, self.folder / f"worker-{len(self.workers)}.log").start()
        self.workers.append(worker)
        wait_healthy(f"http://127.0.0.1:{port}/healthz", timeout=90)
        return worker

    def submit(self, name: str) -> int:
        upload = self.folder / f"{name}-{time.monotonic_ns()}.zip"
        upload.write_bytes(CORRECT)
        with self.runtime.sessions() as session:
            admission = admit(session, session.get(User, self.student), name)
        return take_upload(self.runtime, admission, upload, "s.zip")["id"]  # sent as the API sends it

    def waiting(self, queue: str) -> int:
        """How many jobs wait in ``queue`` on the broker (kombu keeps each queue as a Redis list)."""
        done = subprocess.run(["redis-cli", "-p", str(self.redis.port), "LLEN", queue], capture_output=True,
                              text=True, check=True)
        return int(done.stdout)

    def row(self, submission_id: int) -> tuple[Submission, list[Result], dict]:
        with self.runtime.sessions() as session:
            row = session.get(Submission, submission_id)
            results = list(session.scalars(select(Result).where(Result.submission_id == submission_id)
                                           .order_by(Result.id)))
            return row, results, submission_view(row, row.user)

    def wait_status(self, submission_id: int, status: Status, timeout: float = 120) -> None:
        wait_for(lambda: self.row(submission_id)[0].status == status, timeout,
                 f"submission {submission_id} to be {status}")

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.runtime.dispatcher.close()
        self.redis.stop()
        self.postgres.stop()


@pytest.fixture
def course(tmp_path: Path):
    missing = [p for p in ("redis-server", "redis-cli", "bwrap") if not have(p)]
    for backend in ("docker", "local"):
        try:
            choose_sandbox(backend)
        except SandboxUnavailable as why:
            missing.append(f"the {backend} sandbox ({why})")
    if missing:
        if REQUIRE_SANDBOXES:
            pytest.fail(f"the gpu-queue tests need {', '.join(missing)} (make test installs them)")
        pytest.skip(f"not run: {', '.join(missing)} unavailable here")
    if "nvidia" in choose_sandbox("docker").client.info().get("Runtimes", {}):
        pytest.skip("not run: this Docker has the NVIDIA runtime (the real GPU path is `make gpu-check`'s)")
    course = Course(tmp_path)
    try:
        yield course
    finally:
        course.stop()


def test_a_gpu_job_waits_for_a_gpu_worker_is_failed_over_by_one_without_a_gpu_and_graded_by_one_with(course):
    course.worker("cpu", GRADER_SANDBOX="local")
    gpu_job = course.submit("toy-gpu")
    cpu_job = course.submit("toy-cpu")
    # The cpu worker grades the cpu job sent after the gpu one, and never takes the gpu one.
    course.wait_status(cpu_job, Status.GRADED)
    assert course.row(gpu_job)[0].status == Status.QUEUED and course.waiting("gpu") == 1

    no_gpu = course.worker("gpu", GRADER_SANDBOX="docker", GRADER_GPU="auto")
    assert "cannot give a sandbox a GPU: Docker has no NVIDIA container runtime" in no_gpu.text()
    course.wait_status(gpu_job, Status.FAILED)
    row, results, view = course.row(gpu_job)
    assert row.awaiting_worker and row.current_result_id is None
    assert "no NVIDIA container runtime" in row.failure_reason
    assert 'could not select device driver "" with capabilities: [[gpu]]' in row.failure_reason
    assert [r.status for r in results] == ["error"]
    assert view["status"] == "failed_to_grade" and view["score"] is None  # never a zero
    assert "no NVIDIA container runtime" in view["output"]
    # Handed back to the gpu queue, which that worker no longer takes from.
    wait_for(lambda: "stopped taking jobs from the gpu queue" in no_gpu.text(), 30, "the worker to stop")
    wait_for(lambda: course.waiting("gpu") == 1, 30, "the job to be back in the gpu queue")

    with_gpu = course.worker("gpu", GRADER_SANDBOX="local", GRADER_GPU="yes")
    course.wait_status(gpu_job, Status.GRADED)
    row, results, view = course.row(gpu_job)
    assert [r.status for r in results] == ["error", "graded"] and row.current_result_id == results[1].id
    assert (view["status"], view["score"], view["max_score"]) == ("graded", 2.0, 2.0)  # the visible part
    assert results[1].score == 10.0 and results[1].worker.endswith(f":{with_gpu.process.pid}")
    assert not row.awaiting_worker and row.failure_reason == ""
