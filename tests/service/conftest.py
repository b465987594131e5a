"""Fixtures for the service: a released assignment, users, an in-process API (SQLite), and submission zips."""

from __future__ import annotations

import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from grader.app import create_app
from grader.db import Submission
from grader.service.releases import publish
from grader.service.users import add_user
from grader.settings import Settings
from tests.grading.conftest import (  # noqa: F401
    ASSIGNMENTS,
    REFERENCE,
    REQUIRE_SANDBOXES,
    require_local_sandbox,
    submission,
)
from worker.main import open_queue
from worker.queue.dispatch import EmbeddedDispatcher
from worker.runtime import WorkerRuntime

URL = "/api/assignments/beras-mlp/submissions"
PEOPLE = (("ann", "student"), ("ben", "student"), ("tom", "ta"), ("ida", "instructor"))


def make_runtime(folder: Path, **settings) -> WorkerRuntime:
    runtime = WorkerRuntime(Settings(**{"data_dir": folder, "assignments_dir": ASSIGNMENTS,
                                        "reference": REFERENCE, **settings}))
    runtime.migrate()
    return runtime


@pytest.fixture
def runtime(tmp_path: Path) -> WorkerRuntime:
    """A migrated SQLite runtime with no queue attached."""
    return make_runtime(tmp_path / "data")


def copy_release(mlp_release, into: Path) -> tuple[Path, Path]:
    autograder, starter = mlp_release
    target = into / autograder.name
    shutil.copytree(autograder, target)
    shutil.copy(starter, into / starter.name)
    return target, into / starter.name


class Api:
    """A TestClient over the app with a token for each of ``PEOPLE`` (``api.auth("ann")``)."""

    def __init__(self, client: TestClient, runtime, tokens: dict[str, str]) -> None:
        self.client, self.runtime, self.tokens = client, runtime, tokens

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def submit(self, who: str, data: bytes, **kwargs):
        return self.client.post(URL, headers=self.auth(who),
                                files={"file": ("s.zip", data, "application/zip")}, **kwargs)

    def count(self, model=Submission) -> int:
        with self.runtime.sessions() as session:
            return session.scalar(select(func.count()).select_from(model))

    def wait(self, who: str, submission_id: int, timeout: float = 180) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            view = self.client.get(f"/api/submissions/{submission_id}", headers=self.auth(who)).json()
            if view["status"] not in ("queued", "deferred", "running"):
                return view
            time.sleep(0.3)
        raise TimeoutError(f"submission {submission_id} still {view['status']}")


class Parked(EmbeddedDispatcher):
    """The embedded pool with no threads: submissions stay queued, for tests of the API alone."""

    def __init__(self, runtime):
        super().__init__(runtime, workers=1)
        self.close()


@contextmanager
def open_api(runtime: WorkerRuntime, request: pytest.FixtureRequest,
             release_to_publish: tuple[Path, Path] | None = None):
    """The app over ``runtime`` in a TestClient, with ``PEOPLE`` added and, if given, a release published.

    A test marked ``grading`` gets a one-thread pool grading in the local sandbox; any other a parked queue.
    """
    if request.node.get_closest_marker("grading"):
        require_local_sandbox()
        runtime.dispatcher = EmbeddedDispatcher(runtime, workers=1)
    else:
        runtime.dispatcher = Parked(runtime)
    tokens = {}
    with runtime.sessions() as session:
        if release_to_publish:
            publish(session, runtime.blobs, *release_to_publish)
        for who, role in PEOPLE:
            tokens[who] = add_user(session, f"{who}@course.edu", role)[1]
    with TestClient(create_app(runtime, open_queue=open_queue)) as client:
        yield Api(client, runtime, tokens)
