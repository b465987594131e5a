"""The gpu queue: routing, a worker without a GPU records failed_to_grade and hands the job back (never a
zero), the GPU checks of both sandboxes, the reconciler re-sending a handed-back job; and all of it as
deployed, on a machine without a GPU.

As deployed: redis-server, PostgreSQL and real worker processes. A gpu assignment's submission waits in the
``gpu`` queue while a ``--queues cpu`` worker grades a cpu one; a ``gpu`` worker on the docker sandbox without
the NVIDIA container runtime records it as failed_to_grade with the reason and hands it back; a ``gpu`` worker
declared to have a GPU (``GRADER_GPU=yes``, on the local sandbox, which gives a job the machine's /dev/nvidia*
nodes: none here, and the toy needs none) grades it.
"""

from __future__ import annotations

import os
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from grader.db import Result, Status, Submission, User
from grader.dispatch import QueueName
from grader.service.submissions import accept, admit, take_upload
from grader.service.users import add_user
from grader.service.visibility import submission_view
from grader.settings import GpuMode, Settings
from tests.grading.conftest import require_local_sandbox
from tests.service.gpu_toy import CORRECT, publish_toys, stage_toys
from tests.service.processes import Postgres, RedisServer, Service, free_port, require, wait_for, wait_healthy
from tests.service.test_storage import Recorder
from worker.grading.submission import claim, grade_submission
from worker.queue.celery_app import CeleryDispatcher
from worker.queue.reconciler import reconcile
from worker.runtime import WorkerRuntime
from worker.sandbox import SandboxLimits, SandboxUnavailable, choose_sandbox, gpu
from worker.sandbox.local import LocalSandbox

UTC = timezone.utc


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> list:
    return stage_toys(tmp_path_factory.mktemp("toys"))


@pytest.fixture
def toys(runtime: WorkerRuntime, staged):
    runtime.dispatcher = Recorder(runtime)
    publish_toys(runtime, staged)
    with runtime.sessions() as session:
        add_user(session, "s@course.edu", "student")
    return runtime


def _accept(runtime, name: str) -> int:
    with runtime.sessions() as session:
        user = session.scalar(select(User).where(User.email == "s@course.edu"))
        return accept(session, runtime.blobs, user, name, CORRECT, "s.zip", 2**20).id


def _row(runtime, submission_id: int) -> tuple[Submission, list[Result], dict]:
    with runtime.sessions() as session:
        row = session.get(Submission, submission_id)
        results = list(session.scalars(select(Result).where(Result.submission_id == submission_id)))
        return row, results, submission_view(row, row.user)


def test_a_gpu_assignment_is_stored_for_the_gpu_queue(toys):
    from grader.dispatch import queue_for

    gpu_id, cpu_id = _accept(toys, "toy-gpu"), _accept(toys, "toy-cpu")
    assert queue_for(_row(toys, gpu_id)[0].queue, False) == QueueName.GPU
    assert queue_for(_row(toys, cpu_id)[0].queue, False) == QueueName.CPU


def test_a_worker_declared_without_a_gpu_records_failed_to_grade_and_hands_the_job_back(toys):
    toys.settings.gpu = GpuMode.NO
    submission_id = _accept(toys, "toy-gpu")
    outcome = grade_submission(submission_id, toys)
    assert (outcome.action, outcome.queue) == ("handed_back", "gpu")
    row, results, view = _row(toys, submission_id)
    assert row.status == Status.FAILED and row.awaiting_worker and row.current_result_id is None
    assert "GRADER_GPU=no" in row.failure_reason and "went back to the gpu queue" in row.failure_reason
    assert [r.status for r in results] == ["error"]
    # The student sees why, and no score: failed_to_grade is never a zero.
    assert view["status"] == "failed_to_grade" and view["score"] is None
    assert "graded again as soon as a grader that can run it is free" in view["output"]
    # Another worker takes it up (a capable one): the failure is not terminal.
    assert claim(toys, submission_id, "c" * 32) is not None
    assert _row(toys, submission_id)[0].awaiting_worker is False


def test_a_cpu_job_is_graded_by_a_worker_without_a_gpu(toys):
    require_local_sandbox()
    toys.settings.gpu, toys.settings.sandbox = GpuMode.NO, "local"
    submission_id = _accept(toys, "toy-cpu")
    assert grade_submission(submission_id, toys).action == "graded"
    assert _row(toys, submission_id)[0].status == Status.GRADED


def test_the_reconciler_sends_a_handed_back_job_again_when_the_broker_lost_it(toys):
    toys.settings.gpu = GpuMode.NO
    submission_id = _accept(toys, "toy-gpu")
    grade_submission(submission_id, toys)
    assert reconcile(toys) == []  # just handed back (its worker sends it): nothing to do yet
    with toys.sessions() as session:
        session.get(Submission, submission_id).enqueued_at = (
            datetime.now(UTC) - timedelta(seconds=toys.settings.queued_deadline_s + 1))
        session.commit()
    assert reconcile(toys) == [submission_id]
    assert toys.dispatcher.sent[-1][:2] == (submission_id, "gpu")
    assert _row(toys, submission_id)[0].status == Status.FAILED  # still waiting for a worker with a GPU


def test_gpu_mode_yes_and_no_are_taken_as_declared_and_auto_asks_the_sandbox(runtime, monkeypatch):
    runtime.settings.gpu = GpuMode.YES
    assert runtime.gpu_missing() is None
    for mode, sandbox_says, expected in ((GpuMode.NO, None, "declared to have no GPU"),
                                         (GpuMode.AUTO, "no device here", "no device here")):
        fresh = WorkerRuntime(runtime.settings.model_copy(update={"gpu": mode}))
        monkeypatch.setattr(fresh, "sandbox", lambda said=sandbox_says: type(
            "Probe", (), {"gpu_missing": lambda self: said})())
        assert expected in fresh.gpu_missing()


def test_the_local_sandbox_binds_the_nvidia_devices_only_for_a_gpu_job(monkeypatch, tmp_path):
    limits = SandboxLimits(wall_s=5, memory_mb=100, cpus=1, pids=10, judge_memory_mb=100, judge_pids=10,
                           tmpfs_mb=10, tmp_tmpfs_mb=10, log_kb=10)
    sandbox = LocalSandbox()
    monkeypatch.setattr(gpu, "nvidia_devices", lambda: ["/dev/nvidia0", "/dev/nvidiactl"])
    command = sandbox.command(tmp_path, tmp_path, limits.__class__(**{**limits.__dict__, "gpu": True}))
    assert " ".join(command).count("--dev-bind /dev/nvidia") == 2
    assert "--dev-bind" not in sandbox.command(tmp_path, tmp_path, limits)
    assert gpu.local_gpu_missing() is None
    monkeypatch.setattr(gpu, "nvidia_devices", lambda: [])
    assert "no /dev/nvidia0" in gpu.local_gpu_missing()


def _docker_or_skip():
    try:
        return choose_sandbox("docker")
    except SandboxUnavailable as why:
        from tests.grading.conftest import require

        require("the docker sandbox", str(why))


@pytest.mark.docker
def test_docker_without_the_nvidia_runtime_says_so_and_a_worker_told_it_has_one_hands_the_job_back(toys):
    sandbox = _docker_or_skip()
    if "nvidia" in sandbox.client.info().get("Runtimes", {}):
        pytest.skip("not run: this Docker has the NVIDIA runtime (the real GPU path is `make gpu-check`'s)")
    why = sandbox.gpu_missing()
    assert "no NVIDIA container runtime" in why and "could not select device driver" in why
    assert "nvidia-ctk runtime configure" in why
    # GRADER_GPU=yes skips the probe: Docker's refusal at the job's start hands it back all the same.
    toys.settings.gpu, toys.settings.sandbox = GpuMode.YES, "docker"
    submission_id = _accept(toys, "toy-gpu")
    assert grade_submission(submission_id, toys).action == "handed_back"
    row, results, _ = _row(toys, submission_id)
    assert row.status == Status.FAILED and row.awaiting_worker and "no NVIDIA container runtime" in (
        row.failure_reason)


class Course:
    """Redis, PostgreSQL, the two toys published, one student, and workers started on demand."""

    def __init__(self, folder: Path, staged: list) -> None:
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
        publish_toys(self.runtime, staged)
        with self.runtime.sessions() as session:
            self.student = add_user(session, "s@course.edu", "student")[0].id
        self.workers: list[Service] = []

    def worker(self, queues: str, **env: str) -> Service:
        port = free_port()
        worker = Service(["worker", "--queues", queues, "--concurrency", "1", "--health-port", str(port)],
                         {**self.env, **env}, self.folder / f"worker-{len(self.workers)}.log").start()
        self.workers.append(worker)
        worker.health = f"http://127.0.0.1:{port}/healthz"
        wait_healthy(worker.health, timeout=90)
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
def course(tmp_path: Path, staged):
    require("the gpu-queue tests", ("redis-server", "redis-cli", "bwrap"), ("docker", "local"))
    if "nvidia" in choose_sandbox("docker").client.info().get("Runtimes", {}):
        pytest.skip("not run: this Docker has the NVIDIA runtime (the real GPU path is `make gpu-check`'s)")
    course = Course(tmp_path, staged)
    try:
        yield course
    finally:
        course.stop()


@pytest.mark.docker
def test_a_gpu_job_waits_for_a_gpu_worker_is_failed_over_by_one_without_a_gpu_and_graded_by_one_with(course):
    cpu = course.worker("cpu", GRADER_SANDBOX="local")
    gpu_job = course.submit("toy-gpu")
    cpu_job = course.submit("toy-cpu")
    # The cpu worker grades the cpu job sent after the gpu one, and never takes the gpu one.
    course.wait_status(cpu_job, Status.GRADED)
    assert course.row(gpu_job)[0].status == Status.QUEUED and course.waiting("gpu") == 1
    assert wait_healthy(cpu.health)["status"] == "ok"  # idle and healthy, and the gpu job still waits
    assert course.row(gpu_job)[0].status == Status.QUEUED and course.waiting("gpu") == 1

    no_gpu = course.worker("gpu", GRADER_SANDBOX="docker", GRADER_GPU="auto")
    assert "cannot give a sandbox a GPU: Docker has no NVIDIA container runtime" in no_gpu.text()
    assert wait_healthy(no_gpu.health)["gpu"].startswith("none: Docker has no NVIDIA container runtime")
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
    assert wait_healthy(with_gpu.health)["gpu"] == "ok"
    course.wait_status(gpu_job, Status.GRADED)
    row, results, view = course.row(gpu_job)
    assert [r.status for r in results] == ["error", "graded"] and row.current_result_id == results[1].id
    assert (view["status"], view["score"], view["max_score"]) == ("graded", 2.0, 2.0)  # the visible part
    assert results[1].score == 10.0 and results[1].worker.endswith(f":{with_gpu.process.pid}")
    assert not row.awaiting_worker and row.failure_reason == ""
