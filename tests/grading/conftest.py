"""Fixtures for grading tests: every assignment staged once, both sandbox backends, submission zips built
here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grader.authoring.config import discover_assignments
from grader.authoring.release import stage_autograder
from grader.authoring.released import Released, load_released
from worker.grading import samples
from worker.grading.grade import grade_zip
from worker.grading.samples import build_zip
from worker.sandbox import SandboxUnavailable, choose_sandbox

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENTS = REPO / "assignments"
REFERENCE = REPO / "reference" / "beras"
# Every assignment of the repository: a new one's samples are graded as soon as its folder exists.
NAMES = tuple(discover_assignments(ASSIGNMENTS))
# `make test` sets this: there a missing sandbox is a failure, not a skip.
REQUIRE_SANDBOXES = os.environ.get("BERAS_REQUIRE_SANDBOXES") == "1"


def grade_json(*args, **kwargs) -> dict:
    """``grade_zip``'s result as the JSON it is written as (``results.json``, the database's row).

    The tests that read a result field by field assert what a submission is told, at that edge.
    """
    return grade_zip(*args, **kwargs).to_json()


def require(what: str, why: str) -> None:
    """Fail (under `make test`) or skip visibly: ``what`` is missing here, because ``why``."""
    if REQUIRE_SANDBOXES:
        pytest.fail(f"{what} is required here: {why}")
    pytest.skip(f"not run: no {what} ({why})")


def require_local_sandbox() -> None:
    _sandbox("local")


@pytest.fixture(scope="session")
def releases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Released]:
    """``{"beras-mlp": Released, "beras-cnn": Released, ...}``, staged from every assignment folder."""
    out = tmp_path_factory.mktemp("releases")
    return {name: load_released(stage_autograder(ASSIGNMENTS / name, out, reference_package=REFERENCE))
            for name in NAMES}


@pytest.fixture(scope="session")
def mlp(releases: dict[str, Released]) -> Released:
    return releases["beras-mlp"]


def _sandbox(name: str):
    try:
        return choose_sandbox(name)
    except SandboxUnavailable as why:
        require(f"{name} sandbox", str(why))


@pytest.fixture(scope="session", params=["local", "docker"])
def sandbox(request: pytest.FixtureRequest):
    """Each sandbox backend in turn."""
    return _sandbox(request.param)


@pytest.fixture(scope="session")
def local_sandbox():
    return _sandbox("local")


def reference_files(released: Released) -> dict[str, str]:
    """The reference solution of every file the students own, as ``{"beras/<rel>": source}``."""
    return {f"beras/{rel}": text for rel, text in samples.reference_files(released).items()}


def submission(released: Released, replace: dict[str, str] | None = None, drop: tuple[str, ...] = (),
               extra: dict[str, str | bytes] | None = None, append: dict[str, str] | None = None) -> bytes:
    """The reference solution zipped, with some files replaced, dropped, extended or added.

    Args:
        replace: ``{"beras/<rel>": new source}``.
        drop: ``"beras/<rel>"`` paths to leave out.
        extra: more entries to add as they are.
        append: ``{"beras/<rel>": code}`` added at the end of that reference file (e.g. a monkeypatch).
    """
    files = reference_files(released)
    for name, code in (append or {}).items():
        files[name] = files[name] + "\n" + code
    files.update(replace or {})
    for name in drop:
        files.pop(name)
    files.update(extra or {})
    return build_zip(files)
