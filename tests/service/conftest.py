"""Fixtures for the service: a released assignment, users, an in-process API (SQLite), and submission zips."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.authoring.release import release
from grader.runtime import Runtime
from grader.settings import Settings
from tests.grading.conftest import REFERENCE, ASSIGNMENTS, REQUIRE_SANDBOXES, submission  # noqa: F401
from worker.grading.released import Released, load_released


@pytest.fixture(scope="session")
def mlp_release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """beras-mlp released once through the real gate: ``(autograder folder, starter zip)``."""
    out = tmp_path_factory.mktemp("service-release")
    outcome = release(ASSIGNMENTS / "beras-mlp", out, reference_package=REFERENCE, seed=7)
    assert outcome.report.ok, outcome.report.format()
    return outcome.autograder_dir, outcome.starter_zip


@pytest.fixture(scope="session")
def mlp(mlp_release) -> Released:
    return load_released(mlp_release[0])


def make_runtime(folder: Path, **settings) -> Runtime:
    runtime = Runtime(Settings(data_dir=folder, assignments_dir=ASSIGNMENTS, reference=REFERENCE, **settings))
    runtime.migrate()
    return runtime


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    """A migrated SQLite runtime with no queue attached."""
    return make_runtime(tmp_path / "data")


def copy_release(mlp_release, into: Path) -> tuple[Path, Path]:
    autograder, starter = mlp_release
    target = into / autograder.name
    shutil.copytree(autograder, target)
    shutil.copy(starter, into / starter.name)
    return target, into / starter.name
