"""The results plugin: points from a points file, failure messages without hidden values, kill-proof files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.authoring.config import assign_points, load_assignment
from grader.harness.results import write_points

SUBMISSION = '''
import numpy as np
def double(x):
    return np.asarray(x) * 2.0
def wrong(x):
    return np.asarray(x) * 3.0
'''
TOML = '''
name = "toy"
title = "Toy"
[files]
owned = ["ops.py"]
[[points]]
group = "doubling"
tests = ["hidden_tests/test_toy.py::test_double*"]
points = 6
visibility = "visible"
[[points]]
group = "the rest"
tests = ["hidden_tests/test_toy.py::test_plain*", "hidden_tests/test_toy.py::test_random",
         "hidden_tests/test_toy.py::test_zz*"]
points_each = 1
'''
TESTS = '''
import os, time
import numpy as np
from grader.harness import assert_close, fetch, note

SECRET = np.array([123.456, 654.321])

def test_double_right(student):
    assert_close(student.beras.double(np.ones(2)), np.full(2, 2.0))
    note("doubling works")

def test_double_wrong(student):
    assert_close(student.beras.wrong(np.ones(2) * 61.728), SECRET)

def test_plain_assert_shows_no_values(student):
    assert fetch(student.beras.double(np.ones(2)))[0] == SECRET[0]

def test_random(student, rng):
    fetch(student.beras.double(rng.normal(size=3)))

def test_zz_sleeps_when_asked(student):
    if os.environ.get("TOY_SLEEP"):
        time.sleep(60)
'''


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    (tmp_path / "sub" / "beras").mkdir(parents=True)
    (tmp_path / "sub" / "beras" / "__init__.py").write_text(SUBMISSION)
    assignment = tmp_path / "toy"
    (assignment / "hidden_tests").mkdir(parents=True)
    (assignment / "public_tests").mkdir()
    (assignment / "assignment.toml").write_text(TOML)
    (assignment / "hidden_tests" / "test_toy.py").write_text(TESTS)
    return tmp_path


def _base_command(root: Path) -> list[str]:
    return [sys.executable, "-m", "pytest", "hidden_tests", "-p", "grader.harness.plugin", "-c", os.devnull,
            "--rootdir", str(root / "toy"), "-p", "no:cacheprovider", "--assert=plain", "-q",
            "--submission", str(root / "sub")]


def _write_points(root: Path, test_ids: list[str] | None = None) -> Path:
    """The points file the release would write for the toy's tests (all collected ones, by default)."""
    if test_ids is None:
        listing = subprocess.run([*_base_command(root), "--collect-only"], cwd=root / "toy",
                                 capture_output=True, text=True, timeout=120,
                                 env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        test_ids = [line for line in listing.stdout.splitlines() if "::" in line]
    path = root / "points.json"
    # A test may replace the toy's tests with a few of its own: some groups then match none.
    write_points(assign_points(load_assignment(root / "toy"), test_ids, every_group_used=False), path)
    return path


def _command(root: Path, seed: int, points: Path | None = None) -> list[str]:
    return [*_base_command(root), "-p", "grader.harness.results", "--seed", str(seed),
            "--points", str(points or _write_points(root)), "--results", str(root / "results.json")]


def _run(root: Path, seed: int = 1) -> dict:
    subprocess.run(_command(root, seed), cwd=root / "toy", capture_output=True, timeout=120,
                   env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    return json.loads((root / "results.json").read_text())


def test_points_visibility_and_scores_follow_assignment_toml(toy: Path) -> None:
    results = _run(toy)
    tests = {t["name"].split("::")[1]: t for t in results["tests"]}
    assert tests["test_double_right"]["max_score"] == 3.0 and tests["test_double_right"]["score"] == 3.0
    assert tests["test_double_wrong"]["score"] == 0.0 and tests["test_double_wrong"]["status"] == "failed"
    assert tests["test_random"]["max_score"] == 1.0 and tests["test_random"]["visibility"] == "after_due_date"
    assert tests["test_double_right"]["visibility"] == "visible"
    assert results["max_score"] == 9.0 and results["score"] == 5.0
    assert results["seed"] == 1 and results["complete"] is True and results["problems"] == []


def test_failure_output_is_the_message_only_without_hidden_values(toy: Path) -> None:
    tests = {t["name"].split("::")[1]: t for t in _run(toy)["tests"]}
    wrong = tests["test_double_wrong"]["output"]
    assert "student.beras.wrong(float64[2])" in wrong and "Largest absolute error" in wrong
    plain = tests["test_plain_assert_shows_no_values"]["output"]
    for output in (wrong, plain):
        assert "123.456" not in output and "654.321" not in output and "SECRET" not in output
        assert "def test_" not in output  # no hidden source
    assert tests["test_double_right"]["output"] == "doubling works"


def test_fetch_digests_repeat_with_the_seed_and_change_without_it(toy: Path) -> None:
    def digests(seed: int) -> dict:
        return {t["name"]: t["fetch_digest"] for t in _run(toy, seed)["tests"]}

    first, again, other = digests(5), digests(5), digests(6)
    random_test = "hidden_tests/test_toy.py::test_random"
    assert first == again
    assert other[random_test] != first[random_test]


def test_a_run_killed_midway_keeps_every_finished_test(toy: Path) -> None:
    results_path = toy / "results.json"
    process = subprocess.Popen(_command(toy, 1), cwd=toy / "toy", stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env={**os.environ, "TOY_SLEEP": "1"})
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:  # wait until the four quick tests are recorded
            if results_path.is_file():
                states = [t["status"] for t in json.loads(results_path.read_text())["tests"]]
                if states.count("not_run") == 1:
                    break
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    results = json.loads(results_path.read_text())
    states = {t["name"].split("::")[1]: t["status"] for t in results["tests"]}
    assert results["complete"] is False
    assert states["test_double_right"] == "passed" and states["test_double_wrong"] == "failed"
    assert states["test_zz_sleeps_when_asked"] == "not_run"
    assert results["score"] == 4.0  # 3 for test_double_right, 1 for test_random


ASTRAL_TESTS = '''
import pytest
from grader.harness import note

@pytest.mark.parametrize("n", range(120))
def test_double_many(student, n):
    note("\\U0001F600" * 5000)
    raise AssertionError("\\U0001F4A5" * 4000 + "\\x00" * 1000)
'''


def test_failure_messages_of_any_characters_keep_the_file_under_the_workers_cap(toy: Path) -> None:
    from grader.harness.jobspec import RESULTS_MAX_BYTES

    (toy / "toy" / "hidden_tests" / "test_toy.py").write_text(ASTRAL_TESTS)
    results_path = toy / "results.json"
    results = _run(toy)
    assert results_path.stat().st_size < RESULTS_MAX_BYTES
    assert len(results["tests"]) == 120 and results["complete"] is True
    assert all(t["status"] == "failed" and "more characters]" in t["output"] for t in results["tests"])
    assert results["tests"][0]["output"].startswith("AssertionError: \U0001F4A5")


def test_each_tests_share_shrinks_with_the_number_of_tests_and_never_vanishes() -> None:
    from grader.harness.jobspec import RESULTS_MAX_BYTES
    from grader.harness.results import MAX_OUTPUT_BYTES, MIN_OUTPUT_BYTES, PER_TEST_BYTES, output_budget

    assert output_budget(10) == MAX_OUTPUT_BYTES
    for tests in (300, 2000):
        assert MIN_OUTPUT_BYTES <= output_budget(tests) < MAX_OUTPUT_BYTES
        assert tests * (output_budget(tests) + PER_TEST_BYTES) < RESULTS_MAX_BYTES
    assert output_budget(100_000) == MIN_OUTPUT_BYTES


def test_trace_calls_records_per_test_the_submission_functions_it_entered(toy: Path) -> None:
    command = _command(toy, 1) + ["--trace-dir", str(toy / "sub" / "beras"), "--trace-calls",
                                  "--trace-calls-only",
                                  "-k", "double_right or double_wrong or random"]
    subprocess.run(command, cwd=toy / "toy", capture_output=True, timeout=120,
                   env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    results = json.loads((toy / "results.json").read_text())
    calls = {name.split("::")[1]: names for name, names in results["calls_by_test"].items()}
    # The first test imports the package too: its module body runs there.
    assert calls["test_double_right"] == ["__init__.py::<module>", "__init__.py::double"]
    assert calls["test_double_wrong"] == ["__init__.py::wrong"]
    assert calls["test_random"] == ["__init__.py::double"]
    assert "lines_run" not in results  # --trace-calls-only


def test_only_tests_runs_the_listed_ids_and_splits_points_over_all_of_them(toy: Path) -> None:
    listed = toy / "only.json"
    listed.write_text(json.dumps(["hidden_tests/test_toy.py::test_double_wrong"]))
    points = _write_points(toy, ["hidden_tests/test_toy.py::test_double_right",
                                 "hidden_tests/test_toy.py::test_double_wrong"])
    subprocess.run(_command(toy, 1, points) + ["--only-tests", str(listed)], cwd=toy / "toy",
                   capture_output=True, timeout=120, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    results = json.loads((toy / "results.json").read_text())
    assert [(t["name"], t["status"], t["max_score"]) for t in results["tests"]] == [
        ("hidden_tests/test_toy.py::test_double_wrong", "failed", 3.0)]
