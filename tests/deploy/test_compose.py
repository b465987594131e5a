"""``docker-compose up`` for real: docker-compose.yml with docker-compose.local.yml, on images built here.

The images come from tools/build-images.sh (cached by Docker: a second build is near-instant). Every service
runs on the host's network (this machine's Docker has no bridge), on free ports; the worker grades through the
host's Docker socket in a jobs folder at the same path on both sides. The tests run in order on one
deployment: graded, crashed worker, restarted Redis; ``docker-compose down -v`` removes it at the end.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from grader.blobs import BlobStore
from grader.db import Result, sessions
from grader.service.releases import publish
from grader.settings import Settings
from tests.grading.conftest import reference_files, submission
from tests.service.gpu_toy import CORRECT as TOY_CORRECT
from tests.service.processes import BIN, REPO, free_port, require, wait_for
from tests.service.staged import TOY

pytestmark = pytest.mark.docker
SERVICES = ("api", "worker-cpu", "redis", "postgres")  # worker-gpu is in the gpu profile: not started here
# Short leases, so that a crashed worker's job is taken again within seconds (as tests/service does).
# The data folder is a host folder at the same path inside (not the named volume), so that the test can
# publish the session's gated release into it: the gate takes minutes on a 2-core machine, and `make test`
# has already run it (tests/conftest.py's mlp_outcome).
TEST_SETTINGS = """version: "3.8"
x-quick: &quick
  GRADER_LEASE_S: "6"
  GRADER_RECONCILE_EVERY_S: "1"
  GRADER_QUEUED_DEADLINE_S: "15"
  GRADER_RETRY_BACKOFF_S: "1"
  GRADER_DATA_DIR: {data}
services:
  # The api container also holds a small course (the toy) at the same path, to release over HTTP: its gate
  # runs in the container's own Python in seconds.
  api:
    environment:
      <<: *quick
      GRADER_ASSIGNMENTS_DIR: {course}/assignments
      GRADER_REFERENCE: {course}/reference/beras
    volumes: ["{data}:{data}", "{course}:{course}:ro"]
  worker-cpu: {{environment: *quick, volumes: ["{data}:{data}"]}}
"""


class Deployment:
    """One compose project (a private name, free ports, a private jobs folder) and the timeline of the run."""

    def __init__(self, folder: Path) -> None:
        self.jobs = folder / "jobs"
        self.jobs.mkdir()
        self.data = folder / "data"
        self.data.mkdir()
        self.course = folder / "course"
        shutil.copytree(TOY, self.course, ignore=shutil.ignore_patterns("__pycache__"))
        (folder / "test.yml").write_text(TEST_SETTINGS.format(data=self.data, course=self.course))
        self.api_port = free_port()
        self.env = {**os.environ, "POSTGRES_PASSWORD": secrets.token_hex(8),
                    "GRADER_JOBS_DIR": str(self.jobs),
                    "BERAS_API_PORT": str(self.api_port), "BERAS_WORKER_HEALTH_PORT": str(free_port()),
                    "BERAS_REDIS_PORT": str(free_port()), "BERAS_POSTGRES_PORT": str(free_port()),
                    "COMPOSE_PROJECT_NAME": f"berastest{secrets.token_hex(3)}"}
        self.files = ["-f", str(REPO / "docker-compose.yml"), "-f", str(REPO / "docker-compose.local.yml"),
                      "-f", str(folder / "test.yml")]
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.database_url = (f"postgresql+psycopg://grader:{self.env['POSTGRES_PASSWORD']}@127.0.0.1:"
                             f"{self.env['BERAS_POSTGRES_PORT']}/grader")
        self.timeline: dict[str, float] = {}

    def compose(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(["docker-compose", *self.files, *args], env=self.env, cwd=REPO,
                              capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"docker-compose {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    def container(self, service: str) -> str:
        return self.compose("ps", "-q", service).strip()

    def inspect(self, service: str, field: str) -> str:
        return subprocess.run(["docker", "inspect", "-f", field, self.container(service)],
                              capture_output=True, text=True, check=True).stdout.strip()

    def wait_healthy(self, services=SERVICES, timeout: float = 120) -> None:
        for service in services:
            try:
                wait_for(lambda s=service: self.inspect(s, "{{.State.Health.Status}}") == "healthy", timeout,
                         f"{service} to be healthy", interval=0.5)
            except TimeoutError as error:
                raise AssertionError(f"{error}; its log:\n{self.compose('logs', '--tail', '40', service)}")

    def user(self, email: str, role: str = "student") -> dict[str, str]:
        token = self.compose("exec", "-T", "api", "beras-grader", "users", "add", email, "--role",
                             role).strip()
        return {"Authorization": f"Bearer {token.splitlines()[-1]}"}

    def submit(self, headers: dict, data: bytes, assignment: str = "beras-mlp") -> int:
        response = httpx.post(f"{self.api}/api/assignments/{assignment}/submissions", headers=headers,
                              files={"file": ("submission.zip", data, "application/zip")}, timeout=30)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def view(self, submission_id: int) -> dict:
        return httpx.get(f"{self.api}/api/submissions/{submission_id}", headers=self.staff, timeout=10).json()

    def wait_done(self, submission_id: int, timeout: float = 240) -> dict:
        return wait_for(lambda: ((v := self.view(submission_id))["status"] not in ("queued", "running")
                                 and v),
                        timeout, f"submission {submission_id} to be graded", interval=0.5)

    def publish(self, release: tuple[Path, Path]) -> None:
        """Publish a gated release (autograder folder, starter zip) as the service would after its gate."""
        settings = Settings(data_dir=self.data, database_url=self.database_url)
        autograder = settings.releases_dir / "beras-mlp" / release[0].name
        shutil.copytree(release[0], autograder)
        with sessions(settings.database_url)() as session:
            publish(session, BlobStore(settings.blobs_dir), autograder, release[1])

    def results_of(self, submission_id: int) -> int:
        with sessions(self.database_url)() as session:
            return session.scalar(select(func.count()).select_from(Result)
                                  .where(Result.submission_id == submission_id))


def networks() -> set[str]:
    return set(subprocess.run(["docker", "network", "ls", "-q"], capture_output=True, text=True,
                              check=True).stdout.split())


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory, mlp_release):
    require("the compose tests", ("docker-compose",), ("docker",))
    deployment = Deployment(tmp_path_factory.mktemp("compose"))
    before = networks()
    started = time.monotonic()
    built = subprocess.run([str(REPO / "tools" / "build-images.sh")],
                           env={**os.environ, "VENV_BIN": str(BIN)}, cwd=REPO, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout + built.stderr
    deployment.timeline["build"] = time.monotonic() - started
    try:
        started = time.monotonic()
        deployment.compose("up", "-d")
        deployment.wait_healthy()
        deployment.timeline["up"] = time.monotonic() - started
        # No bridge (the machine's Docker has none to give), so compose made no network of its own.
        assert networks() == before
        deployment.staff = deployment.user("ta@course.edu", "ta")
        deployment.publish(mlp_release)
        released = httpx.get(f"{deployment.api}/api/assignments/beras-mlp", headers=deployment.staff,
                             timeout=30)
        assert released.status_code == 200, released.text
        deployment.timeline["released"] = time.monotonic() - started
        yield deployment
    finally:
        # A short stop timeout: the worker's grace period (11 min) is for production's warm shutdowns.
        subprocess.run(["docker-compose", *deployment.files, "down", "-v", "--remove-orphans", "-t", "5"],
                       env=deployment.env, cwd=REPO, capture_output=True, timeout=300)
        print("compose timeline (s): " + ", ".join(f"{k} {v:.0f}" for k, v in deployment.timeline.items()))


@pytest.fixture(scope="module")
def mlp_zips(deployment, mlp) -> tuple[bytes, bytes]:
    """The reference solution, and one with one-hot decoding broken (argmin: the planted sample's bug)."""
    onehot = reference_files(mlp)["beras/onehot.py"]
    assert "np.argmax(" in onehot
    return submission(mlp), submission(mlp, replace={"beras/onehot.py": onehot.replace("np.argmax(",
                                                                                        "np.argmin(")})


def test_up_starts_every_service_but_the_gpu_worker(deployment):
    running = deployment.compose("ps", "--services", "--filter", "status=running").split()
    assert sorted(running) == sorted(SERVICES)
    assert deployment.container("worker-gpu") == ""
    assert deployment.inspect("worker-cpu", "{{.HostConfig.NetworkMode}}") == "host"


def test_a_correct_and_a_buggy_zip_are_graded_by_the_worker_container(deployment, mlp_zips):
    started = time.monotonic()
    correct, buggy = (deployment.submit(deployment.user(f"{who}@course.edu"), data)
                      for who, data in zip(("alice", "bob"), mlp_zips))
    good, bad = deployment.wait_done(correct), deployment.wait_done(buggy)
    deployment.timeline["graded"] = time.monotonic() - started
    assert good["status"] == "graded" and (good["score"], good["max_score"]) == (100.0, 100.0)
    assert good["sandbox"]["backend"] == "docker"
    assert bad["status"] == "graded" and 0 < bad["score"] < 100
    # Staff see every test: one-hot decoding's tests fail, the public sanity check (which decodes) among them.
    lost = [test["name"] for test in bad["tests"] if test["score"] < test["max_score"]]
    assert any(name.startswith("public_tests/") for name in lost), lost
    assert list(deployment.jobs.iterdir()) == []  # the job folders, on the host's side, are cleaned up


def test_an_assignment_released_over_http_is_gated_in_the_api_container_and_graded(deployment):
    """The release path a TA takes: POST .../release runs the gate in the api container (the toy's takes
    seconds; beras-mlp's, gated the same way, takes minutes on two cores, so the other tests publish the
    session's gated beras-mlp release instead)."""
    started = time.monotonic()
    student = deployment.user("toy-student@course.edu")
    refused = httpx.post(f"{deployment.api}/api/assignments/toy/release?seed=7", headers=student, timeout=30)
    assert refused.status_code == 403, refused.text
    released = httpx.post(f"{deployment.api}/api/assignments/toy/release?seed=7", headers=deployment.staff,
                          timeout=600)
    assert released.status_code == 200, released.text
    assert released.json()["gate"]["ok"] is True and released.json()["gate"]["seed"] == 7
    deployment.timeline["toy released over HTTP"] = time.monotonic() - started
    graded = deployment.wait_done(deployment.submit(student, TOY_CORRECT, "toy"))
    assert graded["status"] == "graded" and graded["score"] == graded["max_score"] > 0, graded
    assert graded["sandbox"]["backend"] == "docker"


def test_a_worker_container_that_dies_mid_job_is_restarted_and_grades_the_job_once(deployment, mlp_zips):
    submission_id = deployment.submit(deployment.user("carol@course.edu"), mlp_zips[0])
    wait_for(lambda: deployment.view(submission_id)["status"] == "running", 120, "the job to start")
    # As an OOM kill or a crash would: `docker kill` is a manual stop to Docker, which the restart policy
    # then leaves stopped, so the container's process is killed from the host instead.
    started = time.monotonic()
    subprocess.run(["kill", "-9", deployment.inspect("worker-cpu", "{{.State.Pid}}")], check=True)
    wait_for(lambda: deployment.inspect("worker-cpu", "{{.RestartCount}}") == "1", 60,
             "the restart policy to bring the worker back")
    deployment.timeline["kill"] = time.monotonic() - started
    view = deployment.wait_done(submission_id)
    deployment.timeline["regraded"] = time.monotonic() - started
    assert view["status"] == "graded" and view["score"] == 100.0
    assert view["attempts"] == 2
    assert deployment.results_of(submission_id) == 1


def test_redis_restarted_with_jobs_queued_loses_none(deployment, mlp_zips):
    deployment.compose("stop", "worker-cpu")
    ids = [deployment.submit(deployment.user(f"dave{i}@course.edu"), mlp_zips[0]) for i in range(2)]
    deployment.compose("restart", "redis")
    deployment.wait_healthy(("redis",))
    deployment.compose("start", "worker-cpu")
    for submission_id in ids:
        assert deployment.wait_done(submission_id)["status"] == "graded"
        assert deployment.results_of(submission_id) == 1
